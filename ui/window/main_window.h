#pragma once
// The workbench window: the side panel (model, compute, data), the layer map with the importance
// chart, the cost and plan panels, and the status bar with the running job's progress and
// Cancel. Every long operation goes through one JobRunner; each page's controller wires the page
// to its jobs, and the window puts the pages, menus and status bar together.

#include <QMainWindow>

#include <functional>

#include "cost/evaluation_controller.h"
#include "curve/pruning_curve_controller.h"
#include "export/export_controller.h"
#include "generation/generation_controller.h"
#include "layer_map/importance_controller.h"
#include "recovery/recovery_controller.h"
#include "session/session_controller.h"
#include "side_panel/model_controller.h"

class QLabel;
class QMenu;
class QProgressBar;
class QPushButton;
class QTabWidget;

namespace layerlab::ui {

class CostPanel;
class GenerationPage;
class ImportanceChart;
class JobRunner;
class LayerMapPage;
class MetricScatterPage;
class ModelPanel;
class PlanPanel;
class PruningCurvePage;
class RecoveryPanel;
class ReportController;
class ReportExporter;
class Workspace;

// The window's first size on a screen with this much room: the designed 1600 x 960, or the whole
// available area where that is smaller (a saved geometry wins over both).
QSize initialWindowSize(const QSize& available);

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // Loads a model folder in the background; device/dtype default to the side panel's choice.
    // `then` runs on the GUI thread once the model is in the workspace.
    void openModel(const QString& dir, const QString& device = {}, const QString& dtype = {},
                   std::function<void()> then = {}) {
        models_->open(dir, device, dtype, std::move(then));
    }
    // Sessions (.layerlab): the model, data, removal set, scores, evaluations and adapters.
    // saveSession returns an error message naming the file, or "". openSession loads the model in
    // the background and then applies the rest; errors are reported.
    QString saveSession(const QString& path) { return session_->save(path); }
    void openSession(const QString& path) { session_->open(path); }
    // The crash-recovery copy, written every minute while the state changed, removed on a clean
    // exit. Returns true when one was there at start and was opened.
    bool restoreAutosave() { return session_->restoreAutosave(interactive_); }
    static QString autosavePath() { return SessionController::autosavePath(); }
    QString sessionPath() const { return session_->path(); }
    void computeImportance(const ImportanceJobRequest& request) { importance_->compute(request); }
    void evaluate() { evaluation_->evaluate(); }
    // The pruning curve (tab "Pruning curve"), replacing the one shown.
    void runPruningCurve(const PruningCurveRequest& request) { curve_->run(request); }
    // Fits and installs adapters for the current removal set (the recovery panel).
    void recover(const RecoveryRequest& request) { recovery_->recover(request); }
    void removeAdapters() { recovery_->removeAdapters(); }
    void generate(const GenerationRequest& request) { generation_->generate(request); }
    // Exports the open model with the current removal set and adapters (File > Export pruned
    // model shows the dialog first). The outcome goes to the status bar; errors are reported.
    void exportModel(const ExportSettings& settings) { export_->exportModel(settings); }
    // File > Export report: the current session as `layerlab-cli report` draws it, to `html` and
    // the PDF beside it (in the background, charts drawn one per event-loop step; the outcome goes
    // to the status bar, and reportController() signals `written` when both files are there).
    void exportReport(const QString& html);
    // Without dialogs: errors go to the status bar and stderr (screenshots, tests).
    void setInteractive(bool on) { interactive_ = on; }

    Workspace* workspace() const { return workspace_; }
    JobRunner* jobs() const { return jobs_; }
    ReportController* reportController() const { return report_; }
    LayerMapPage* layerMap() const { return layerMap_; }
    ImportanceChart* chart() const { return chart_; }
    CostPanel* costPanel() const { return costPanel_; }
    PlanPanel* planPanel() const { return planPanel_; }
    PruningCurvePage* curvePage() const { return curvePage_; }
    MetricScatterPage* scatterPage() const { return scatterPage_; }
    RecoveryPanel* recoveryPanel() const { return recoveryPanel_; }
    GenerationPage* generationPage() const { return generationPage_; }
    QTabWidget* tabs() const { return tabs_; }

Q_SIGNALS:
    void errorReported(const QString& title, const QString& message);

protected:
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;
    void closeEvent(QCloseEvent* event) override;

private:
    void buildLayout();
    void buildStatusBar();
    void buildControllers();
    void buildMenus();
    void fillRecentMenu();
    void reportError(const QString& title, const QString& message);
    void updateTitle();

    Workspace* workspace_;
    JobRunner* jobs_;
    ModelPanel* modelPanel_;
    LayerMapPage* layerMap_;
    ImportanceChart* chart_;
    CostPanel* costPanel_;
    PlanPanel* planPanel_;
    PruningCurvePage* curvePage_;
    MetricScatterPage* scatterPage_;
    RecoveryPanel* recoveryPanel_;
    GenerationPage* generationPage_;
    QTabWidget* tabs_;
    QMenu* recentMenu_ = nullptr;
    QLabel* status_;
    QProgressBar* progress_;
    QPushButton* cancel_;
    ModelController* models_ = nullptr;
    ImportanceController* importance_ = nullptr;
    EvaluationController* evaluation_ = nullptr;
    PruningCurveController* curve_ = nullptr;
    RecoveryController* recovery_ = nullptr;
    GenerationController* generation_ = nullptr;
    ExportController* export_ = nullptr;
    ReportExporter* reports_ = nullptr;
    ReportController* report_ = nullptr;
    SessionController* session_ = nullptr;
    bool interactive_ = true;
    int pendingRunLength_ = 0; // a best-run plan waiting for its angular scores
};

} // namespace layerlab::ui
