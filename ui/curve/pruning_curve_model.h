#pragma once
// The pruning curve's data (issue 12, the paper's comparison figure): for each metric, quality
// after removing the k least important units of one granularity, k = 0, 1, 2, ... One row per
// (metric, k): the removal set, loss and perplexity on the quick-evaluation sample, and each
// task's accuracy. The chart draws one line per metric from series().

#include <QAbstractTableModel>
#include <QPointF>

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cost/quick_evaluation.h"
#include "model/layer_mask.h"
#include "workspace/model_summary.h"

namespace layerlab::ui {

struct PruningCurvePoint {
    std::string metric; // score-table key ("cosine", "drop_kl", "angular" = best run of k blocks)
    Unit unit = Unit::Block;
    int64_t unitsRemoved = 0;
    LayerMask mask;
    QuickEvaluation evaluation; // loss, perplexity, tasks (hasLoss false without calibration data)
};

class PruningCurveModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Columns {
        MetricColumn,
        UnitColumn,
        RemovedCountColumn,
        RemovedColumn,
        LossColumn,
        PerplexityColumn,
        FirstTaskColumn
    };                                       // then "<task> acc", "<task> acc_norm" per task
    enum Roles { ValueRole = Qt::UserRole }; // double for the numeric columns

    explicit PruningCurveModel(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    void clear();
    // Appends a point; a point of a (metric, k) already there replaces it.
    void addPoint(const PruningCurvePoint& point);
    const std::vector<PruningCurvePoint>& points() const { return points_; }

    // Metrics in the order their first point came.
    std::vector<std::string> metrics() const;
    // Columns a chart can plot: loss, perplexity and every task column.
    std::vector<int> quantityColumns() const;
    // (units removed, value of `column`) for one metric, by units removed; points without that
    // value (no calibration data, a task not evaluated) are left out.
    std::vector<QPointF> series(const std::string& metric, int column) const;
    bool higherIsBetter(int column) const { return column >= FirstTaskColumn; }

private:
    std::optional<double> value(const PruningCurvePoint& p, int column) const;

    std::vector<PruningCurvePoint> points_;
    std::vector<std::string> tasks_; // task names of the columns
};

// The points as a session keeps them: one row each, in the fields of `layerlab-cli sweep --json`
// (metric, granularity, units_removed, removed, parameter_fraction, loss, perplexity) plus the
// tasks' accuracies, so the report reads both the same way.
nlohmann::json curveRecord(const std::vector<PruningCurvePoint>& points, const ModelSummary& summary);
// Rows from a session back into a model; rows that do not fit (bad fields, another layer count)
// are left out.
void restoreCurveRecord(PruningCurveModel& model, const nlohmann::json& rows, int64_t layers);

} // namespace layerlab::ui
