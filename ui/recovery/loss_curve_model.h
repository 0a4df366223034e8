#pragma once
// The recovery loss curve: one row per training step (step, loss), appended while adapter
// training runs. The recovery panel's chart maps it with a QVXYModelMapper; CSV export reads it.

#include <QAbstractTableModel>

#include <cstdint>
#include <vector>

namespace layerlab::ui {

class LossCurveModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Columns { StepColumn, LossColumn, ColumnCount };
    enum Roles { ValueRole = Qt::UserRole }; // the number as a double

    using QAbstractTableModel::QAbstractTableModel;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    void addStep(int64_t step, double loss);
    void clear();
    // Smallest and largest loss so far (0, 0 when empty), for the chart's axis.
    std::pair<double, double> lossRange() const;

private:
    std::vector<std::pair<int64_t, double>> steps_;
};

} // namespace layerlab::ui
