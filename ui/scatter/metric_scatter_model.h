#pragma once
// Two importance metrics against each other, one row per layer, for one granularity: do they
// order the layers alike? Spearman's rho and Kendall's tau-b summarise it (core/rank_correlation).
// The scatter chart maps the X and Y columns; CSV export reads the table.

#include <QAbstractTableModel>

#include <string>
#include <vector>

#include "model/layer_mask.h"
#include "workspace/score_table.h"

namespace layerlab::ui {

class MetricScatterModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Columns { LayerColumn, XColumn, YColumn, ColumnCount };
    enum Roles { ValueRole = Qt::UserRole };

    using QAbstractTableModel::QAbstractTableModel;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // Layers where either metric is missing (NaN) are left out.
    void setData(const ScoreTable& table, const std::string& x, const std::string& y, Unit unit);
    const std::string& xMetric() const { return x_; }
    const std::string& yMetric() const { return y_; }
    Unit unit() const { return unit_; }
    double spearman() const { return spearman_; } // NaN when undefined
    double kendall() const { return kendall_; }

private:
    struct Row {
        int64_t layer;
        double x, y;
    };
    std::vector<Row> rows_;
    std::string x_, y_;
    Unit unit_ = Unit::Block;
    double spearman_ = 0, kendall_ = 0;
};

} // namespace layerlab::ui
