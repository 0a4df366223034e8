#pragma once
// The live cost panel's table: for the current removal set, what is saved (parameters, KV-cache
// bytes and FLOPs per token; exact, from parameter counts) and, once a quick evaluation ran, what
// it costs in quality (calibration loss and perplexity, task accuracies), each against the full
// model with the change.

#include <QAbstractTableModel>

#include <optional>

#include "cost/quick_evaluation.h"

namespace layerlab {
struct PruningCost;
}

namespace layerlab::ui {

struct ModelSummary;
// The core's pruningCost for a model known by its summary (compute dtype's KV bytes, no context).
PruningCost removalCost(const ModelSummary& summary, const LayerMask& mask);

// 6.74 G, 131.1 k, 12: FLOPs and other large counts.
QString scaledQuantity(double v);
// Bytes as KiB / MiB with one decimal when large: 3.0 KiB, 512 B.
QString byteQuantity(double v);

class Workspace;

class CostModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Columns { QuantityColumn, FullColumn, PrunedColumn, ChangeColumn, NUM_COLUMNS };
    enum Rows { ParametersRow, KvCacheRow, FlopsRow, LossRow, PerplexityRow, FirstTaskRow };
    enum Roles {
        ValueRole = Qt::UserRole, // double: the number shown (change column: pruned - full)
        StaleRole,                // bool: the evaluation is of another removal set than the current one
    };

    explicit CostModel(Workspace* workspace, QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // The evaluation shown: the latest one and the full model's at the same level.
    const std::optional<QuickEvaluation>& shownEvaluation() const;
    const std::optional<QuickEvaluation>& shownBaseline() const;

private:
    struct Cell {
        std::optional<double> full, pruned;
        bool higherIsBetter = true;
        bool cost = false; // parameters / bytes / FLOPs: smaller is the point of pruning
    };
    void refresh();
    void maskChanged();
    Cell cell(int row) const;
    QString format(int row, double v) const;
    QString rowTitle(int row) const;
    int taskRows() const;

    Workspace* workspace_;
    int rows_ = 0;
};

} // namespace layerlab::ui
