#pragma once
// The layer map's data: one row per layer; a Layer column, three "runs" checkbox columns
// (block, attention, FFN: unchecking removes the unit), then one column per computed metric and
// granularity (cosine/block, cosine/attn, ...). Values are what the core computed (higher = more
// important); the rank view shows ranks instead (1 = least important = first to cut).

#include <QAbstractTableModel>

#include <string>
#include <vector>

#include "model/layer_mask.h"

namespace layerlab::ui {

class Workspace;

class LayerMapModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Columns { LayerColumn, BlockOnColumn, AttentionOnColumn, FfnOnColumn, FirstMetricColumn };
    enum Roles {
        SortRole = Qt::UserRole, // value or rank (missing sorts last)
        ValueRole,               // double; invalid where the metric has no entry
        StdErrRole,              // double; where the metric has one (shapley Monte Carlo)
        RankRole,                // int, 1 = least important in the column
        NormalizedRole,          // 0..1 within the column (value or rank); -1 where missing
        RemovedRole,             // bool: the unit does not run
        UnitRole,                // int(Unit) of the column
        MetricRole,              // QString metric name ("" for the fixed columns)
        AdapterRole,             // bool: an adapter for the unit is installed (acts while it is removed)
    };

    explicit LayerMapModel(Workspace* workspace, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;
    Qt::ItemFlags flags(const QModelIndex& index) const override;
    bool setData(const QModelIndex& index, const QVariant& value, int role = Qt::EditRole) override;

    bool rankView() const { return rankView_; }
    void setRankView(bool on);

    // The unit a cell stands for: the checkbox columns and every metric column; false for Layer.
    bool unitAt(const QModelIndex& index, Unit& unit, int64_t& layer) const;
    // Click on a metric cell: toggles its unit. Checkbox cells go through setData instead.
    bool toggleAt(const QModelIndex& index);

    struct MetricColumn {
        std::string metric;
        Unit unit;
        std::vector<double> values, stdErr;
        std::vector<int> ranks; // 0 where missing
        double min = 0, max = 0;
        // The colour scale's range: min..max, narrowed to exclude outliers (one block often
        // dwarfs the rest) so the other layers stay distinguishable; outliers get the end colours.
        double scaleMin = 0, scaleMax = 0;
    };
    const std::vector<MetricColumn>& metricColumns() const { return columns_; }
    int columnOf(const std::string& metric, Unit unit) const; // -1 when absent

private:
    void rebuild();
    void maskChanged();
    const MetricColumn* metricColumn(int column) const;
    QString valueText(double v) const;

    Workspace* workspace_;
    std::vector<MetricColumn> columns_;
    bool rankView_ = false;
};

// Ranks 1..n by ascending value, ties in layer order.
std::vector<int> ascendingRanks(const std::vector<double>& values);
// min..max of the values clipped to [Q1 - 3 IQR, Q3 + 3 IQR] (Tukey's far-out fences).
std::pair<double, double> colourRange(const std::vector<double>& values);

} // namespace layerlab::ui
