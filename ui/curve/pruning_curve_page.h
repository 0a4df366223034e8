#pragma once
// The "Pruning curve" tab: which metrics, which granularity, how many units; a line chart of
// quality against units removed, one line per metric (the paper's comparison figure), the table
// behind it, and exports.

#include <QWidget>

#include "curve/pruning_curve_job.h"

class QCheckBox;
class QChart;
class QChartView;
class QComboBox;
class QListWidget;
class QPushButton;
class QSpinBox;
class QTableView;

namespace layerlab::ui {

class PruningCurveModel;
class Workspace;

// One line per metric of `model`'s quantity `column` against units removed (log scale for the
// perplexity on request): the page's chart and the report's figures.
QChart* pruningCurveChart(const PruningCurveModel& model, int column, bool logScale, const QString& title);

class PruningCurvePage : public QWidget {
    Q_OBJECT
public:
    explicit PruningCurvePage(Workspace* workspace, QWidget* parent = nullptr);

    PruningCurveModel* model() const { return model_; }
    QChartView* chartView() const { return view_; }
    PruningCurveRequest request() const;
    void setRequest(const PruningCurveRequest& request);
    // Which column the chart plots (PruningCurveModel::PerplexityColumn, LossColumn, a task column).
    int quantity() const;
    void setQuantity(int column);
    QString title() const;
    void setRunning(bool on);

Q_SIGNALS:
    void runRequested(const layerlab::ui::PruningCurveRequest& request);
    void stopRequested();
    void exportImageRequested();
    void exportCsvRequested();

private:
    void refreshMetrics();
    void refreshQuantities();
    void rebuildChart();

    Workspace* workspace_;
    PruningCurveModel* model_;
    QListWidget* metrics_;
    QComboBox* unit_;
    QSpinBox* maxUnits_;
    QCheckBox* tasks_;
    QPushButton* run_;
    QPushButton* stop_;
    QComboBox* quantity_;
    QCheckBox* logScale_;
    QChartView* view_;
    QTableView* table_;
};

} // namespace layerlab::ui
