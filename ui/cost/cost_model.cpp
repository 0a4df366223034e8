#include "cost/cost_model.h"

#include "export/pruning_cost.h"
#include "model/model.h"
#include "workspace/workspace.h"

#include <QColor>
#include <QFont>
#include <QLocale>

#include <cmath>

namespace layerlab::ui {

namespace {

const std::optional<QuickEvaluation> none;

QString grouped(double v) {
    return QLocale().toString(static_cast<qlonglong>(std::llround(v)));
}

} // namespace

QString byteQuantity(double v) {
    const double a = std::abs(v);
    if (a >= 1024.0 * 1024.0) return QString::number(v / (1024.0 * 1024.0), 'f', 1) + QObject::tr(" MiB");
    if (a >= 1024.0) return QString::number(v / 1024.0, 'f', 1) + QObject::tr(" KiB");
    return QString::number(v, 'f', 0) + QObject::tr(" B");
}

QString scaledQuantity(double v) {
    const double a = std::abs(v);
    if (a >= 1e9) return QString::number(v / 1e9, 'f', 2) + QObject::tr(" G");
    if (a >= 1e6) return QString::number(v / 1e6, 'f', 2) + QObject::tr(" M");
    if (a >= 1e3) return QString::number(v / 1e3, 'f', 1) + QObject::tr(" k");
    return QString::number(v, 'f', 0);
}

PruningCost removalCost(const ModelSummary& s, const LayerMask& mask) {
    const int64_t L = s.config.numLayers;
    return pruningCost(s.config, s.parameters, mask.numLayers() == L ? mask : LayerMask(L),
                       s.computeDtypeBytes);
}

CostModel::CostModel(Workspace* workspace, QObject* parent)
    : QAbstractTableModel(parent), workspace_(workspace) {
    connect(workspace_, &Workspace::modelChanged, this, &CostModel::refresh);
    connect(workspace_, &Workspace::evaluationChanged, this, &CostModel::refresh);
    connect(workspace_, &Workspace::maskChanged, this, &CostModel::maskChanged);
    refresh();
}

void CostModel::refresh() {
    // The task rows follow the evaluated tasks: reset when their number changes.
    const int rows = workspace_->hasModel() ? FirstTaskRow + 2 * taskRows() : 0;
    if (rows != rows_) {
        beginResetModel();
        rows_ = rows;
        endResetModel();
    } else if (rows_ > 0) {
        Q_EMIT dataChanged(index(0, 0), index(rows_ - 1, NUM_COLUMNS - 1));
    }
}

void CostModel::maskChanged() {
    if (rows_ > 0) Q_EMIT dataChanged(index(0, 0), index(rows_ - 1, NUM_COLUMNS - 1));
}

int CostModel::taskRows() const {
    const auto& e = shownEvaluation();
    return e ? static_cast<int>(e->tasks.size()) : 0;
}

const std::optional<QuickEvaluation>& CostModel::shownEvaluation() const {
    return workspace_->latest() ? workspace_->latest() : none;
}

const std::optional<QuickEvaluation>& CostModel::shownBaseline() const {
    const auto& e = shownEvaluation();
    return e ? workspace_->baseline(e->level) : none;
}

int CostModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : rows_;
}

int CostModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : NUM_COLUMNS;
}

QString CostModel::rowTitle(int row) const {
    switch (row) {
    case ParametersRow:
        return tr("Parameters");
    case KvCacheRow:
        return tr("KV cache per token");
    case FlopsRow:
        return tr("FLOPs per token");
    case LossRow:
        return tr("Loss (calibration)");
    case PerplexityRow:
        return tr("Perplexity (calibration)");
    default: {
        const auto& e = shownEvaluation();
        const int t = (row - FirstTaskRow) / 2;
        const QString name = e ? QString::fromStdString(e->tasks.at(t).task) : QString();
        return (row - FirstTaskRow) % 2 == 0 ? tr("%1 acc").arg(name) : tr("%1 acc_norm").arg(name);
    }
    }
}

CostModel::Cell CostModel::cell(int row) const {
    Cell c;
    const auto& s = workspace_->summary();
    if (row <= FlopsRow) {
        // The core's arithmetic (core/export/pruning_cost.h): what the CLI's sweep reports too.
        const auto cost = removalCost(s, workspace_->mask());
        c.cost = true;
        c.higherIsBetter = false;
        double full = 0, saved = 0;
        switch (row) {
        case ParametersRow:
            full = static_cast<double>(cost.parametersTotal);
            saved = static_cast<double>(cost.parametersRemoved);
            break;
        case KvCacheRow:
            full = static_cast<double>(cost.kvBytesPerToken);
            saved = static_cast<double>(cost.kvBytesPerTokenSaved);
            break;
        default:
            full = cost.flopsPerToken;
            saved = cost.flopsPerTokenSaved;
        }
        c.full = full;
        c.pruned = full - saved;
        return c;
    }
    const auto& e = shownEvaluation();
    const auto& b = shownBaseline();
    auto pick = [&](const std::optional<QuickEvaluation>& q) -> std::optional<double> {
        if (!q) return std::nullopt;
        if (row == LossRow) return q->hasLoss ? std::optional(q->loss) : std::nullopt;
        if (row == PerplexityRow) return q->hasLoss ? std::optional(q->perplexity) : std::nullopt;
        const size_t t = static_cast<size_t>((row - FirstTaskRow) / 2);
        if (t >= q->tasks.size() || q->tasksPending) return std::nullopt;
        return (row - FirstTaskRow) % 2 == 0 ? q->tasks[t].acc : q->tasks[t].accNorm;
    };
    c.full = pick(b);
    c.pruned = pick(e);
    c.higherIsBetter = row >= FirstTaskRow;
    return c;
}

QString CostModel::format(int row, double v) const {
    switch (row) {
    case ParametersRow:
        return grouped(v);
    case KvCacheRow:
        return byteQuantity(v);
    case FlopsRow:
        return scaledQuantity(v);
    case LossRow:
        return QString::number(v, 'f', 4);
    case PerplexityRow:
        return QString::number(v, 'f', 2);
    default:
        return QString::number(100.0 * v, 'f', 1) + QLatin1Char('%');
    }
}

QVariant CostModel::data(const QModelIndex& index, int role) const {
    if (!checkIndex(index, CheckIndexOption::IndexIsValid)) return {};
    const int row = index.row();
    const int col = index.column();
    const auto& e = shownEvaluation();
    const bool stale = row >= LossRow && e && !(e->mask == workspace_->mask());
    if (role == StaleRole) return stale;
    if (col == QuantityColumn) {
        if (role == Qt::DisplayRole) return rowTitle(row);
        if (role == Qt::ToolTipRole && row == FlopsRow)
            return tr("2 FLOPs per weight of the layers' matrices and the LM head (norm weights left "
                      "out); attention over the context comes on top and grows with its length");
        if (role == Qt::ToolTipRole && row == KvCacheRow)
            return tr("2 x KV heads x head size x bytes per value, for every running attention sub-layer");
        return {};
    }
    const Cell c = cell(row);
    std::optional<double> v;
    if (col == FullColumn) v = c.full;
    if (col == PrunedColumn) v = c.pruned;
    if (col == ChangeColumn && c.full && c.pruned) v = *c.pruned - *c.full;
    switch (role) {
    case ValueRole:
        return v ? QVariant(*v) : QVariant();
    case Qt::DisplayRole: {
        if (!v) {
            // A task still running for the shown removal set: an ellipsis, not a dash.
            const auto& pending = col == FullColumn ? shownBaseline() : e;
            if (row >= FirstTaskRow && pending && pending->tasksPending) return QStringLiteral("\u2026");
            return row >= LossRow ? QStringLiteral("\u2014") : QString();
        }
        if (col != ChangeColumn) return format(row, *v);
        const QString sign = *v > 0 ? QStringLiteral("+") : QString();
        QString text = row >= FirstTaskRow ? sign + QString::number(100.0 * *v, 'f', 1) + tr(" pt")
                                           : sign + format(row, *v);
        if (*c.full != 0 && row != LossRow && row < FirstTaskRow)
            text += QStringLiteral(" (%1%2%)").arg(sign).arg(100.0 * *v / *c.full, 0, 'f', 1);
        return text;
    }
    case Qt::TextAlignmentRole:
        return int(Qt::AlignRight | Qt::AlignVCenter);
    case Qt::ForegroundRole:
        if (stale && col != FullColumn) return QColor(Qt::gray);
        if (col == ChangeColumn && v && *v != 0) {
            const bool better = c.higherIsBetter ? *v > 0 : *v < 0;
            return better ? QColor(0x1b, 0x7a, 0x2e) : QColor(0xb0, 0x20, 0x20);
        }
        return {};
    case Qt::FontRole:
        if (stale && col != FullColumn) {
            QFont f;
            f.setItalic(true);
            return f;
        }
        return {};
    case Qt::ToolTipRole: {
        QString tip;
        if (row >= FirstTaskRow && v && col != ChangeColumn) {
            const auto& q = col == FullColumn ? shownBaseline() : e;
            const size_t t = static_cast<size_t>((row - FirstTaskRow) / 2);
            if (q && t < q->tasks.size()) {
                const auto& ts = q->tasks[t];
                const double se = (row - FirstTaskRow) % 2 == 0 ? ts.accStderr : ts.accNormStderr;
                tip = tr("\u00b1 %1 pt standard error, %2 items").arg(100.0 * se, 0, 'f', 1).arg(ts.items);
            }
        }
        if (row >= LossRow && e && col != QuantityColumn) {
            if (!tip.isEmpty()) tip += QLatin1Char('\n');
            tip += tr("%1 evaluation (%2 windows, %3 tokens)")
                       .arg(e->level + 1 < kQuickLevels ? tr("Quick") : tr("Refined"))
                       .arg(e->windows)
                       .arg(e->tokens);
        }
        if (stale && col != FullColumn)
            tip += tr("\nEvaluated for removal set '%1'; the set has changed since.")
                       .arg(QString::fromStdString(e->mask.toSpec()));
        return tip.isEmpty() ? QVariant() : QVariant(tip);
    }
    default:
        return {};
    }
}

QVariant CostModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return QAbstractTableModel::headerData(section, orientation, role);
    switch (section) {
    case QuantityColumn:
        return tr("Quantity");
    case FullColumn:
        return tr("Full model");
    case PrunedColumn:
        return tr("Pruned");
    case ChangeColumn:
        return tr("Change");
    }
    return {};
}

} // namespace layerlab::ui
