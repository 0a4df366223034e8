#include "recovery/loss_curve_model.h"

#include <algorithm>

namespace layerlab::ui {

int LossCurveModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(steps_.size());
}

int LossCurveModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant LossCurveModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount()) return {};
    const auto& [step, loss] = steps_[static_cast<size_t>(index.row())];
    // The chart's model mapper reads Qt::DisplayRole and needs numbers.
    if (role == Qt::DisplayRole || role == ValueRole)
        return index.column() == StepColumn ? QVariant(static_cast<double>(step)) : QVariant(loss);
    return {};
}

QVariant LossCurveModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    return section == StepColumn ? tr("step") : tr("training loss (nats per token)");
}

void LossCurveModel::addStep(int64_t step, double loss) {
    const int row = rowCount();
    beginInsertRows({}, row, row);
    steps_.emplace_back(step, loss);
    endInsertRows();
}

void LossCurveModel::clear() {
    beginResetModel();
    steps_.clear();
    endResetModel();
}

std::pair<double, double> LossCurveModel::lossRange() const {
    if (steps_.empty()) return {0, 0};
    const auto [lo, hi] = std::minmax_element(
        steps_.begin(), steps_.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
    return {lo->second, hi->second};
}

} // namespace layerlab::ui
