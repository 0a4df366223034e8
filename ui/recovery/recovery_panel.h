#pragma once
// The recovery panel: adapters for the removed units, closed-form (bias, or low-rank with a rank
// and ridge) or trained (learned bias / low-rank, LoRA) with the training loss drawn live, before
// / after loss and perplexity, removing and saving the installed adapters.

#include <QWidget>

#include "recovery/recovery_job.h"

class QChartView;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSpinBox;

namespace layerlab::ui {

class LossCurveModel;
class Workspace;

class RecoveryPanel : public QWidget {
    Q_OBJECT
public:
    explicit RecoveryPanel(Workspace* workspace, QWidget* parent = nullptr);

    RecoveryRequest request() const;
    void setRequest(const RecoveryRequest& request);
    void showResult(const RecoveryResult& result);
    QString resultText() const;
    // A result as saved in a session (its text).
    void showSavedResult(const QString& text);
    // A training step of the running job: appended to the loss curve.
    void addTrainingStep(int64_t step, double loss);
    void clearLossCurve();
    LossCurveModel* lossCurve() const { return curve_; }
    QChartView* lossChartView() const { return chartView_; }

Q_SIGNALS:
    void fitRequested(const layerlab::ui::RecoveryRequest& request);
    void removeRequested();
    void saveRequested();
    void exportCurveImageRequested();
    void exportCurveCsvRequested();

private:
    void refresh();
    void rescaleChart();

    Workspace* workspace_;
    QComboBox* method_;
    QSpinBox* rank_;
    QDoubleSpinBox* ridge_;
    QSpinBox* steps_;
    QDoubleSpinBox* learningRate_;
    QSpinBox* loraRank_;
    QPushButton* fit_;
    QPushButton* remove_;
    QPushButton* save_;
    QLabel* installed_;
    QLabel* result_;
    LossCurveModel* curve_;
    QChartView* chartView_;
};

} // namespace layerlab::ui
