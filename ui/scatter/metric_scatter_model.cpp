#include "scatter/metric_scatter_model.h"

#include "importance/rank_correlation.h"

#include <cmath>

namespace layerlab::ui {

int MetricScatterModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

int MetricScatterModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant MetricScatterModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount()) return {};
    const auto& r = rows_[static_cast<size_t>(index.row())];
    // The chart's model mapper reads Qt::DisplayRole and needs numbers.
    if (role != Qt::DisplayRole && role != ValueRole) return {};
    switch (index.column()) {
    case LayerColumn:
        return static_cast<double>(r.layer);
    case XColumn:
        return r.x;
    case YColumn:
        return r.y;
    default:
        return {};
    }
}

QVariant MetricScatterModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole) return {};
    const QString unit = QString::fromLatin1(unitName(unit_));
    switch (section) {
    case LayerColumn:
        return tr("layer");
    case XColumn:
        return QStringLiteral("%1 %2").arg(QString::fromStdString(x_), unit);
    case YColumn:
        return QStringLiteral("%1 %2").arg(QString::fromStdString(y_), unit);
    default:
        return {};
    }
}

void MetricScatterModel::setData(const ScoreTable& table, const std::string& x, const std::string& y,
                                 Unit unit) {
    beginResetModel();
    x_ = x;
    y_ = y;
    unit_ = unit;
    rows_.clear();
    const auto& xs = table.at(x, unit);
    const auto& ys = table.at(y, unit);
    std::vector<double> a, b;
    for (size_t l = 0; l < std::min(xs.size(), ys.size()); ++l) {
        if (std::isnan(xs[l]) || std::isnan(ys[l])) continue;
        rows_.push_back({static_cast<int64_t>(l), xs[l], ys[l]});
        a.push_back(xs[l]);
        b.push_back(ys[l]);
    }
    spearman_ = spearmanCorrelation(a, b);
    kendall_ = kendallTau(a, b);
    endResetModel();
}

} // namespace layerlab::ui
