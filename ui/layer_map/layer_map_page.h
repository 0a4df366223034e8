#pragma once
// The layer map: which metrics to compute, the heatmap table (sortable, rank view, click to
// switch units off and on) and its legend.

#include <QWidget>

#include "layer_map/importance_job.h"

class QCheckBox;
class QComboBox;
class QPushButton;
class QSortFilterProxyModel;
class QSpinBox;
class QTableView;

namespace layerlab::ui {

class HeatmapLegend;
class LayerMapModel;
class Workspace;

class LayerMapPage : public QWidget {
    Q_OBJECT
public:
    explicit LayerMapPage(Workspace* workspace, QWidget* parent = nullptr);

    LayerMapModel* model() const { return model_; }
    QTableView* view() const { return view_; }
    ImportanceJobRequest request() const;
    void setMetricChecked(const std::string& metric, bool on);
    void setComputeEnabled(bool on);
    void setValueFunction(const std::string& name);

Q_SIGNALS:
    void computeRequested(const layerlab::ui::ImportanceJobRequest& request);

private:
    LayerMapModel* model_;
    QSortFilterProxyModel* proxy_;
    QTableView* view_;
    HeatmapLegend* legend_;
    std::vector<std::pair<std::string, QCheckBox*>> metrics_;
    QSpinBox* angularN_;
    QComboBox* value_;
    QCheckBox* rankView_;
    QPushButton* compute_;
};

} // namespace layerlab::ui
