#include "layer_map/layer_map_model.h"

#include "workspace/unit_toggle.h"
#include "workspace/workspace.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <tuple>

namespace layerlab::ui {

namespace {

QString unitTitle(Unit u) {
    switch (u) {
    case Unit::Block:
        return QObject::tr("block");
    case Unit::Attention:
        return QObject::tr("attn");
    case Unit::Ffn:
        return QObject::tr("ffn");
    }
    return {};
}

} // namespace

std::vector<int> ascendingRanks(const std::vector<double>& values) {
    std::vector<size_t> order(values.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
    std::vector<int> ranks(values.size());
    for (size_t r = 0; r < order.size(); ++r)
        ranks[order[r]] = static_cast<int>(r + 1);
    return ranks;
}

std::pair<double, double> colourRange(const std::vector<double>& values) {
    if (values.empty()) return {0, 0};
    auto sorted = values;
    std::sort(sorted.begin(), sorted.end());
    auto quantile = [&](double q) {
        const double pos = q * static_cast<double>(sorted.size() - 1);
        const auto i = static_cast<size_t>(pos);
        const double f = pos - static_cast<double>(i);
        return i + 1 < sorted.size() ? sorted[i] + f * (sorted[i + 1] - sorted[i]) : sorted[i];
    };
    const double q1 = quantile(0.25), q3 = quantile(0.75), iqr = q3 - q1;
    double lo = std::max(sorted.front(), q1 - 3 * iqr);
    double hi = std::min(sorted.back(), q3 + 3 * iqr);
    if (!(hi > lo)) lo = sorted.front(), hi = sorted.back();
    return {lo, hi};
}

LayerMapModel::LayerMapModel(Workspace* workspace, QObject* parent)
    : QAbstractTableModel(parent), workspace_(workspace) {
    connect(workspace_, &Workspace::scoresChanged, this, &LayerMapModel::rebuild);
    connect(workspace_, &Workspace::modelChanged, this, &LayerMapModel::rebuild);
    connect(workspace_, &Workspace::maskChanged, this, &LayerMapModel::maskChanged);
    connect(workspace_, &Workspace::adaptersChanged, this, &LayerMapModel::maskChanged);
    rebuild();
}

void LayerMapModel::rebuild() {
    beginResetModel();
    columns_.clear();
    const auto& scores = workspace_->scores();
    for (const auto& metric : orderedMetrics(scores))
        for (Unit u : {Unit::Block, Unit::Attention, Unit::Ffn}) {
            const auto& v = scores.at(metric, u);
            if (v.empty()) continue;
            MetricColumn c{metric, u, v, {}, ascendingRanks(v), 0, 0};
            if (const auto* se = scores.stdErrOf(metric, u)) c.stdErr = *se;
            const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
            c.min = *lo;
            c.max = *hi;
            std::tie(c.scaleMin, c.scaleMax) = colourRange(v);
            columns_.push_back(std::move(c));
        }
    endResetModel();
}

void LayerMapModel::maskChanged() {
    if (rowCount() == 0) return;
    Q_EMIT dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1),
                       {Qt::CheckStateRole, RemovedRole, AdapterRole, Qt::ToolTipRole, Qt::ForegroundRole});
}

void LayerMapModel::setRankView(bool on) {
    if (on == rankView_) return;
    rankView_ = on;
    if (rowCount() > 0)
        Q_EMIT dataChanged(index(0, FirstMetricColumn), index(rowCount() - 1, columnCount() - 1));
    Q_EMIT headerDataChanged(Qt::Horizontal, FirstMetricColumn, columnCount() - 1);
}

int LayerMapModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(workspace_->numLayers());
}

int LayerMapModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : FirstMetricColumn + static_cast<int>(columns_.size());
}

const LayerMapModel::MetricColumn* LayerMapModel::metricColumn(int column) const {
    const int i = column - FirstMetricColumn;
    return i >= 0 && i < static_cast<int>(columns_.size()) ? &columns_[i] : nullptr;
}

int LayerMapModel::columnOf(const std::string& metric, Unit unit) const {
    for (size_t i = 0; i < columns_.size(); ++i)
        if (columns_[i].metric == metric && columns_[i].unit == unit)
            return FirstMetricColumn + static_cast<int>(i);
    return -1;
}

bool LayerMapModel::unitAt(const QModelIndex& index, Unit& unit, int64_t& layer) const {
    if (!index.isValid() || index.column() == LayerColumn) return false;
    layer = index.row();
    if (index.column() < FirstMetricColumn) {
        unit = static_cast<Unit>(index.column() - BlockOnColumn);
        return true;
    }
    const auto* c = metricColumn(index.column());
    if (!c) return false;
    unit = c->unit;
    return true;
}

bool LayerMapModel::toggleAt(const QModelIndex& index) {
    if (index.column() < FirstMetricColumn) return false;
    Unit unit = Unit::Block;
    int64_t layer = 0;
    if (!unitAt(index, unit, layer)) return false;
    workspace_->toggle(unit, layer);
    return true;
}

QString LayerMapModel::valueText(double v) const {
    return QString::number(v, 'g', 4);
}

QVariant LayerMapModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid)) return {};
    const int row = index.row();
    const int col = index.column();
    const auto& mask = workspace_->mask();
    if (col == LayerColumn) {
        if (role == Qt::DisplayRole || role == SortRole) return row;
        if (role == Qt::TextAlignmentRole) return int(Qt::AlignCenter);
        if (role == RemovedRole) return !mask.layerActive(row);
        if (role == MetricRole) return QString();
        return {};
    }
    Unit unit = Unit::Block;
    int64_t layer = 0;
    unitAt(index, unit, layer);
    const bool removed = !unitRuns(mask, unit, layer);
    const bool adapter = workspace_->hasAdapter(unit, layer);
    if (role == RemovedRole) return removed;
    if (role == AdapterRole) return adapter;
    // An adapter acts only while its unit is removed (core/model/adapter.h).
    const auto adapterNote = [&] {
        if (!adapter) return QString();
        return removed ? tr("\nadapter installed: it stands in for the removed unit")
                       : tr("\nadapter installed: inactive while the unit runs");
    };
    if (role == UnitRole) return static_cast<int>(unit);
    if (col < FirstMetricColumn) {
        if (role == Qt::CheckStateRole) {
            if (unit == Unit::Block && mask.layerActive(row) && !(mask.attentionOn(row) && mask.ffnOn(row)))
                return Qt::PartiallyChecked;
            return removed ? Qt::Unchecked : Qt::Checked;
        }
        if (role == SortRole) return removed ? 0 : 1;
        if (role == MetricRole) return QString();
        if (role == Qt::ToolTipRole)
            return tr("Layer %1 %2: %3 (click to switch)")
                       .arg(row)
                       .arg(unitTitle(unit), removed ? tr("removed") : tr("runs")) +
                   adapterNote();
        return {};
    }
    const auto* c = metricColumn(col);
    const bool has = row < static_cast<int>(c->values.size());
    if (role == MetricRole) return QString::fromStdString(c->metric);
    if (!has) {
        if (role == SortRole) return std::numeric_limits<double>::max();
        if (role == NormalizedRole) return -1.0;
        if (role == Qt::ToolTipRole && c->metric == "angular")
            return tr("No run of %1 blocks starts at layer %2").arg(workspace_->scores().angularN).arg(row);
        return {};
    }
    const double v = c->values[row];
    const int rank = c->ranks[row];
    const int n = static_cast<int>(c->values.size());
    switch (role) {
    case Qt::DisplayRole:
        return rankView_ ? QString::number(rank) : valueText(v);
    case Qt::TextAlignmentRole:
        return int(Qt::AlignRight | Qt::AlignVCenter);
    case SortRole:
        return rankView_ ? static_cast<double>(rank) : v;
    case ValueRole:
        return v;
    case StdErrRole:
        return row < static_cast<int>(c->stdErr.size()) ? QVariant(c->stdErr[row]) : QVariant();
    case RankRole:
        return rank;
    case NormalizedRole:
        if (rankView_) return n > 1 ? static_cast<double>(rank - 1) / (n - 1) : 0.5;
        return c->scaleMax > c->scaleMin
                   ? std::clamp((v - c->scaleMin) / (c->scaleMax - c->scaleMin), 0.0, 1.0)
                   : 0.5;
    case Qt::ToolTipRole: {
        QString what =
            c->metric == "angular"
                ? tr("angular n=%1, blocks %2-%3")
                      .arg(workspace_->scores().angularN)
                      .arg(row)
                      .arg(row + workspace_->scores().angularN - 1)
                : tr("%1 %2, layer %3").arg(QString::fromStdString(c->metric), unitTitle(unit)).arg(row);
        QString text = what + QStringLiteral(": ") + valueText(v);
        if (row < static_cast<int>(c->stdErr.size()))
            text += QStringLiteral(" \u00b1 ") + valueText(c->stdErr[row]) + tr(" (standard error)");
        text += tr("\nrank %1 of %2 (1 = least important)").arg(rank).arg(n);
        text += removed ? tr("\nremoved; click to restore") : tr("\nclick to remove");
        return text + adapterNote();
    }
    default:
        return {};
    }
}

QVariant LayerMapModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation == Qt::Vertical) return {};
    if (role == Qt::DisplayRole) {
        switch (section) {
        case LayerColumn:
            return tr("layer");
        case BlockOnColumn:
        case AttentionOnColumn:
        case FfnOnColumn:
            return tr("runs\n%1").arg(unitTitle(static_cast<Unit>(section - BlockOnColumn)));
        default:
            if (const auto* c = metricColumn(section)) {
                QString metric = QString::fromStdString(c->metric);
                if (c->metric == "angular")
                    metric += QStringLiteral(" n=%1").arg(workspace_->scores().angularN);
                if (rankView_) metric += tr(" rank");
                return metric + QLatin1Char('\n') + unitTitle(c->unit);
            }
        }
    }
    if (role == Qt::ToolTipRole) {
        if (section >= BlockOnColumn && section <= FfnOnColumn)
            return tr("Checked: the unit runs. Uncheck to remove it.");
        if (const auto* c = metricColumn(section))
            return tr("%1 at %2 granularity, from %3 to %4. Colour scale of this column: %5 (light) to %6 "
                      "(dark); values beyond it are outliers. Higher = more important.")
                .arg(QString::fromStdString(c->metric), unitTitle(c->unit), valueText(c->min),
                     valueText(c->max), valueText(c->scaleMin), valueText(c->scaleMax));
    }
    return QAbstractTableModel::headerData(section, orientation, role);
}

Qt::ItemFlags LayerMapModel::flags(const QModelIndex& index) const {
    auto f = QAbstractTableModel::flags(index);
    if (index.isValid() && index.column() >= BlockOnColumn && index.column() <= FfnOnColumn)
        f |= Qt::ItemIsUserCheckable;
    return f;
}

bool LayerMapModel::setData(const QModelIndex& index, const QVariant& value, int role) {
    if (role != Qt::CheckStateRole || index.column() < BlockOnColumn || index.column() > FfnOnColumn)
        return false;
    const auto unit = static_cast<Unit>(index.column() - BlockOnColumn);
    const bool wantOn = value.value<Qt::CheckState>() != Qt::Unchecked;
    if (wantOn == unitRuns(workspace_->mask(), unit, index.row())) return false;
    workspace_->toggle(unit, index.row()); // emits maskChanged -> dataChanged
    return true;
}

} // namespace layerlab::ui
