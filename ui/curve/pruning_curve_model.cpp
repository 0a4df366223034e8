#include "curve/pruning_curve_model.h"

#include "cost/cost_model.h"
#include "export/pruning_cost.h"

#include <algorithm>

namespace layerlab::ui {

PruningCurveModel::PruningCurveModel(QObject* parent) : QAbstractTableModel(parent) {}

int PruningCurveModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(points_.size());
}

int PruningCurveModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : FirstTaskColumn + 2 * static_cast<int>(tasks_.size());
}

void PruningCurveModel::clear() {
    beginResetModel();
    points_.clear();
    tasks_.clear();
    endResetModel();
}

void PruningCurveModel::addPoint(const PruningCurvePoint& point) {
    // New task names widen the table: reset then.
    bool newTask = false;
    for (const auto& t : point.evaluation.tasks)
        if (std::find(tasks_.begin(), tasks_.end(), t.task) == tasks_.end()) newTask = true;
    const auto same = std::find_if(points_.begin(), points_.end(), [&](const PruningCurvePoint& p) {
        return p.metric == point.metric && p.unitsRemoved == point.unitsRemoved;
    });
    if (newTask) {
        beginResetModel();
        for (const auto& t : point.evaluation.tasks)
            if (std::find(tasks_.begin(), tasks_.end(), t.task) == tasks_.end()) tasks_.push_back(t.task);
        if (same != points_.end())
            *same = point;
        else
            points_.push_back(point);
        endResetModel();
        return;
    }
    if (same != points_.end()) {
        *same = point;
        const int row = static_cast<int>(same - points_.begin());
        Q_EMIT dataChanged(index(row, 0), index(row, columnCount() - 1));
        return;
    }
    const int row = static_cast<int>(points_.size());
    beginInsertRows({}, row, row);
    points_.push_back(point);
    endInsertRows();
}

std::vector<std::string> PruningCurveModel::metrics() const {
    std::vector<std::string> out;
    for (const auto& p : points_)
        if (std::find(out.begin(), out.end(), p.metric) == out.end()) out.push_back(p.metric);
    return out;
}

std::vector<int> PruningCurveModel::quantityColumns() const {
    std::vector<int> out = {PerplexityColumn, LossColumn};
    for (int c = FirstTaskColumn; c < columnCount(); ++c)
        out.push_back(c);
    return out;
}

std::optional<double> PruningCurveModel::value(const PruningCurvePoint& p, int column) const {
    const auto& e = p.evaluation;
    switch (column) {
    case RemovedCountColumn:
        return static_cast<double>(p.unitsRemoved);
    case LossColumn:
        return e.hasLoss ? std::optional(e.loss) : std::nullopt;
    case PerplexityColumn:
        return e.hasLoss ? std::optional(e.perplexity) : std::nullopt;
    default:
        break;
    }
    if (column < FirstTaskColumn) return std::nullopt;
    const size_t t = static_cast<size_t>((column - FirstTaskColumn) / 2);
    if (t >= tasks_.size()) return std::nullopt;
    for (const auto& s : e.tasks)
        if (s.task == tasks_[t]) return (column - FirstTaskColumn) % 2 == 0 ? s.acc : s.accNorm;
    return std::nullopt;
}

std::vector<QPointF> PruningCurveModel::series(const std::string& metric, int column) const {
    std::vector<QPointF> out;
    for (const auto& p : points_)
        if (p.metric == metric)
            if (const auto v = value(p, column)) out.emplace_back(static_cast<double>(p.unitsRemoved), *v);
    std::sort(out.begin(), out.end(), [](const QPointF& a, const QPointF& b) { return a.x() < b.x(); });
    return out;
}

QVariant PruningCurveModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid)) return {};
    const auto& p = points_[static_cast<size_t>(index.row())];
    const int col = index.column();
    if (col == MetricColumn || col == UnitColumn || col == RemovedColumn) {
        if (role != Qt::DisplayRole) return {};
        if (col == MetricColumn) return QString::fromStdString(p.metric);
        if (col == UnitColumn) return QString::fromLatin1(unitName(p.unit));
        const auto spec = p.mask.toSpec();
        return spec.empty() ? QStringLiteral("none") : QString::fromStdString(spec);
    }
    const auto v = value(p, col);
    switch (role) {
    case ValueRole:
        return v ? QVariant(*v) : QVariant();
    case Qt::DisplayRole:
        if (!v) return QStringLiteral("\u2014");
        if (col == RemovedCountColumn) return static_cast<qlonglong>(p.unitsRemoved);
        if (col == LossColumn) return QString::number(*v, 'f', 4);
        if (col == PerplexityColumn) return QString::number(*v, 'f', 2);
        return QString::number(100.0 * *v, 'f', 1) + QLatin1Char('%');
    case Qt::TextAlignmentRole:
        return int(Qt::AlignRight | Qt::AlignVCenter);
    default:
        return {};
    }
}

QVariant PruningCurveModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case MetricColumn:
        return tr("metric");
    case UnitColumn:
        return tr("granularity");
    case RemovedCountColumn:
        return tr("units removed");
    case RemovedColumn:
        return tr("removed");
    case LossColumn:
        return tr("loss");
    case PerplexityColumn:
        return tr("perplexity");
    default:
        break;
    }
    const size_t t = static_cast<size_t>((section - FirstTaskColumn) / 2);
    if (section < FirstTaskColumn || t >= tasks_.size()) return {};
    const auto name = QString::fromStdString(tasks_[t]);
    return (section - FirstTaskColumn) % 2 == 0 ? tr("%1 acc").arg(name) : tr("%1 acc_norm").arg(name);
}

nlohmann::json curveRecord(const std::vector<PruningCurvePoint>& points, const ModelSummary& summary) {
    auto rows = nlohmann::json::array();
    for (const auto& p : points) {
        nlohmann::json row = {{"metric", p.metric},
                              {"granularity", unitName(p.unit)},
                              {"units_removed", p.unitsRemoved},
                              {"removed", p.mask.toSpec()},
                              {"parameter_fraction", removalCost(summary, p.mask).parameterFraction}};
        if (p.evaluation.hasLoss) {
            row["loss"] = p.evaluation.loss;
            row["perplexity"] = p.evaluation.perplexity;
        }
        for (const auto& t : p.evaluation.tasks)
            row["tasks"][t.task] = {{"acc", t.acc}, {"acc_norm", t.accNorm}, {"items", t.items}};
        rows.push_back(row);
    }
    return rows;
}

void restoreCurveRecord(PruningCurveModel& model, const nlohmann::json& rows, int64_t layers) {
    model.clear();
    if (!rows.is_array()) return;
    for (const auto& row : rows) {
        try {
            PruningCurvePoint p;
            p.metric = row.at("metric").get<std::string>();
            const auto unit = row.at("granularity").get<std::string>();
            p.unit = unit == "attn" ? Unit::Attention : unit == "ffn" ? Unit::Ffn : Unit::Block;
            p.unitsRemoved = row.at("units_removed").get<int64_t>();
            p.mask = LayerMask::parse(row.at("removed").get<std::string>(), layers);
            p.evaluation.mask = p.mask;
            p.evaluation.level = kQuickLevels - 1;
            if (row.contains("loss")) {
                p.evaluation.hasLoss = true;
                p.evaluation.loss = row["loss"].get<double>();
                p.evaluation.perplexity = row.at("perplexity").get<double>();
            }
            if (row.contains("tasks"))
                for (const auto& [task, t] : row["tasks"].items())
                    p.evaluation.tasks.push_back({task, t.at("acc").get<double>(),
                                                  t.at("acc_norm").get<double>(), 0, 0,
                                                  t.value("items", int64_t{0})});
            model.addPoint(p);
        } catch (const std::exception&) { // nlohmann's type errors and the mask's Error
        }
    }
}

} // namespace layerlab::ui
