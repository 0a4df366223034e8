#pragma once
// The workbench window: the side panel (model, compute, data), the layer map with the importance
// chart, the cost and plan panels, and the status bar with the running job's progress and
// Cancel. Every long operation goes through one JobRunner.

#include <QMainWindow>

#include "generation_job.h"
#include "importance_job.h"
#include "pruning_curve_job.h"
#include "recovery_job.h"

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
class ModelPanel;
class PlanPanel;
class PruningCurvePage;
class RecoveryPanel;
class Workspace;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // Loads a model folder in the background; device/dtype default to the side panel's choice.
    void openModel(const QString& dir, const QString& device = {}, const QString& dtype = {});
    void computeImportance(const ImportanceJobRequest& request);
    void evaluate();
    // The pruning curve (tab "Pruning curve"), replacing the one shown.
    void runPruningCurve(const PruningCurveRequest& request);
    // Fits and installs adapters for the current removal set (the recovery panel).
    void recover(const RecoveryRequest& request);
    void removeAdapters();
    void generate(const GenerationRequest& request);
    // Without dialogs: errors go to the status bar and stderr (screenshots, tests).
    void setInteractive(bool on) { interactive_ = on; }

    Workspace* workspace() const { return workspace_; }
    JobRunner* jobs() const { return jobs_; }
    LayerMapPage* layerMap() const { return layerMap_; }
    ImportanceChart* chart() const { return chart_; }
    CostPanel* costPanel() const { return costPanel_; }
    PlanPanel* planPanel() const { return planPanel_; }
    PruningCurvePage* curvePage() const { return curvePage_; }
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
    void buildMenus();
    void chooseModel();
    void rememberRecent(const QString& dir);
    void fillRecentMenu();
    void reportError(const QString& title, const QString& message);
    void exportImage(QWidget* widget, const QString& what, const QString& title);
    void exportCsv(const QString& what, const std::function<QString(const QString&)>& save);
    void maskChanged();
    void updateTitle();

    Workspace* workspace_;
    JobRunner* jobs_;
    ModelPanel* modelPanel_;
    LayerMapPage* layerMap_;
    ImportanceChart* chart_;
    CostPanel* costPanel_;
    PlanPanel* planPanel_;
    PruningCurvePage* curvePage_;
    RecoveryPanel* recoveryPanel_;
    GenerationPage* generationPage_;
    QTabWidget* tabs_;
    QMenu* recentMenu_ = nullptr;
    QLabel* status_;
    QProgressBar* progress_;
    QPushButton* cancel_;
    bool interactive_ = true;
    int pendingRunLength_ = 0; // a best-run plan waiting for its angular scores
};

} // namespace layerlab::ui
