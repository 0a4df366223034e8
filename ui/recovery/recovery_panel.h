#pragma once
// The recovery panel: adapters for the removed units, closed-form (bias, or low-rank with a rank
// and ridge) or trained (learned bias / low-rank, LoRA) with the training loss drawn live, before
// / after loss and perplexity, removing and saving the installed adapters.

#include <QWidget>

#include <nlohmann/json.hpp>

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
    // What a session keeps: {"text": the result shown, "results": every result for this model, in
    // the fields of `layerlab-cli recover --json` (removed, method, full, removed_only, recovered)}.
    nlohmann::json sessionRecord() const;
    void restoreSessionRecord(const nlohmann::json& record);
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
    nlohmann::json results_ = nlohmann::json::array(); // this model's recovery results, in order
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
