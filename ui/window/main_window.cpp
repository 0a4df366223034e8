#include "window/main_window.h"

#include "report/report_controller.h"

#include "cost/cost_model.h"
#include "cost/cost_panel.h"
#include "cost/plan_panel.h"
#include "curve/pruning_curve_model.h"
#include "curve/pruning_curve_page.h"
#include "export/report_exporter.h"
#include "generation/generation_page.h"
#include "jobs/job_runner.h"
#include "layer_map/importance_chart.h"
#include "layer_map/layer_map_model.h"
#include "layer_map/layer_map_page.h"
#include "recovery/loss_curve_model.h"
#include "recovery/recovery_panel.h"
#include "scatter/metric_scatter_model.h"
#include "scatter/metric_scatter_page.h"
#include "side_panel/model_panel.h"
#include "workspace/demo_resources.h"
#include "workspace/evaluation_inputs.h"
#include "workspace/model_loading.h"
#include "workspace/workspace.h"

#include <QAction>
#include <QChartView>
#include <QCloseEvent>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QFileInfo>
#include <QGroupBox>
#include <QGuiApplication>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QScreen>
#include <QScrollArea>
#include <QSettings>
#include <QSplitter>
#include <QStatusBar>
#include <QTabWidget>
#include <QToolBar>
#include <QVBoxLayout>

#include <iostream>

namespace layerlab::ui {

namespace {

DataSettings defaultDataSettings() {
    DataSettings d;
    if (const auto f = demoCalibrationFile(); !f.isEmpty()) d.calibrationFile = f.toStdString();
    if (const auto f = demoTaskFile(); !f.isEmpty()) d.taskFiles.push_back(f.toStdString());
    return d;
}

} // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent), workspace_(new Workspace(this)), jobs_(new JobRunner(this)),
      modelPanel_(new ModelPanel(workspace_, this)), layerMap_(new LayerMapPage(workspace_, this)),
      chart_(new ImportanceChart(workspace_, this)), costPanel_(new CostPanel(workspace_, this)),
      planPanel_(new PlanPanel(workspace_, this)), curvePage_(new PruningCurvePage(workspace_, this)),
      scatterPage_(new MetricScatterPage(workspace_, this)),
      recoveryPanel_(new RecoveryPanel(workspace_, this)),
      generationPage_(new GenerationPage(workspace_, this)), tabs_(new QTabWidget(this)),
      status_(new QLabel(this)), progress_(new QProgressBar(this)),
      cancel_(new QPushButton(tr("Cancel"), this)) {
    setWindowTitle(tr("LayerLab"));
    setObjectName(QStringLiteral("MainWindow"));
    setAcceptDrops(true);
    if (const auto* screen = QGuiApplication::primaryScreen())
        resize(initialWindowSize(screen->availableGeometry().size()));
    workspace_->setDataSettings(defaultDataSettings());

    buildLayout();
    buildStatusBar();
    buildControllers();
    buildMenus();

    QSettings settings;
    restoreGeometry(settings.value(QStringLiteral("geometry")).toByteArray());
    restoreState(settings.value(QStringLiteral("windowState")).toByteArray());
    costPanel_->setAutoEvaluate(settings.value(QStringLiteral("autoEvaluate"), false).toBool());
    const auto first = defaultComputeChoice(computeDevices());
    modelPanel_->setDevice(
        settings.value(QStringLiteral("device"), QString::fromStdString(first.device)).toString());
    modelPanel_->setDtype(
        settings.value(QStringLiteral("dtype"), QString::fromStdString(first.dtype)).toString());
}

void MainWindow::exportReport(const QString& html) {
    report_->exportReport(html);
}

QSize initialWindowSize(const QSize& available) {
    return QSize(1600, 960).boundedTo(available);
}

MainWindow::~MainWindow() {
    // Stop the worker before the workspace it posts to goes away.
    delete jobs_;
}

void MainWindow::buildLayout() {
    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(layerMap_);
    splitter->addWidget(chart_);
    splitter->setStretchFactor(0, 3);
    splitter->setStretchFactor(1, 2);
    tabs_->addTab(splitter, tr("Layer map"));
    tabs_->addTab(curvePage_, tr("Pruning curve"));
    tabs_->addTab(scatterPage_, tr("Metric vs metric"));
    tabs_->addTab(generationPage_, tr("Generate"));
    tabs_->setDocumentMode(true);
    setCentralWidget(tabs_);

    auto* side = new QScrollArea(this);
    side->setWidget(modelPanel_);
    side->setWidgetResizable(true);
    side->setMinimumWidth(290); // the labels fit; narrower clips them
    auto* sideDock = new QDockWidget(tr("Model and data"), this);
    sideDock->setObjectName(QStringLiteral("ModelDock"));
    sideDock->setWidget(side);
    addDockWidget(Qt::LeftDockWidgetArea, sideDock);

    auto* right = new QWidget(this);
    auto* rightLayout = new QVBoxLayout(right);
    rightLayout->addWidget(costPanel_, 1);
    auto* planBox = new QGroupBox(tr("Plans"), right);
    (new QVBoxLayout(planBox))->addWidget(planPanel_);
    rightLayout->addWidget(planBox);
    auto* recoveryBox = new QGroupBox(tr("Recovery (adapters for the removed units)"), right);
    recoveryBox->setToolTip(recoveryPanel_->toolTip());
    (new QVBoxLayout(recoveryBox))->addWidget(recoveryPanel_);
    rightLayout->addWidget(recoveryBox);
    auto* costDock = new QDockWidget(tr("Cost of the removal set"), this);
    costDock->setObjectName(QStringLiteral("CostDock"));
    costDock->setWidget(right);
    addDockWidget(Qt::RightDockWidgetArea, costDock);

    // Room for the side panel's labels and the cost table's four columns; a saved layout wins.
    resizeDocks({sideDock, costDock}, {340, 440}, Qt::Horizontal);
}

void MainWindow::buildStatusBar() {
    // A long status message is cut, rather than widening the window past the screen.
    status_->setMinimumWidth(1);
    status_->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    statusBar()->addWidget(status_, 1);
    progress_->setMinimumWidth(220);
    statusBar()->addPermanentWidget(progress_);
    statusBar()->addPermanentWidget(cancel_);
    progress_->hide();
    cancel_->hide();
    cancel_->setToolTip(tr("Stop the running job and drop the queued ones"));
    status_->setText(tr("Open a Hugging Face model folder (File > Open model) or drop one here."));

    connect(cancel_, &QPushButton::clicked, jobs_, &JobRunner::cancelAll);
    connect(jobs_, &JobRunner::started, this, [this](const QString& title) {
        status_->setText(title);
        progress_->setRange(0, 0);
        progress_->show();
        cancel_->show();
    });
    connect(jobs_, &JobRunner::progressed, this,
            [this](const QString& title, const QString& text, qint64 done, qint64 total) {
                status_->setText(title + QStringLiteral(": ") + text);
                // QProgressBar counts in int; scale big totals down.
                const double scale = total > 1000000 ? 1000000.0 / static_cast<double>(total) : 1.0;
                progress_->setRange(0, static_cast<int>(static_cast<double>(total) * scale));
                progress_->setValue(static_cast<int>(static_cast<double>(done) * scale));
            });
    connect(jobs_, &JobRunner::succeeded, this,
            [this](const QString& title) { status_->setText(tr("%1: done").arg(title)); });
    connect(jobs_, &JobRunner::cancelled, this,
            [this](const QString& title) { status_->setText(tr("%1: stopped").arg(title)); });
    connect(jobs_, &JobRunner::failed, this, [this](const QString& title, const QString& message) {
        status_->setText(tr("%1: failed").arg(title));
        reportError(tr("%1 failed").arg(title), message);
    });
    connect(jobs_, &JobRunner::idle, this, [this] {
        progress_->hide();
        cancel_->hide();
    });
}

void MainWindow::buildControllers() {
    // Each page's controller wires the page to its jobs.
    models_ = new ModelController(*jobs_, *workspace_, modelPanel_, this);
    importance_ = new ImportanceController(*jobs_, *workspace_, layerMap_, this);
    evaluation_ = new EvaluationController(*jobs_, *workspace_, costPanel_, this);
    curve_ = new PruningCurveController(*jobs_, *workspace_, curvePage_, this);
    recovery_ = new RecoveryController(*jobs_, *workspace_, recoveryPanel_, this);
    generation_ = new GenerationController(*jobs_, *workspace_, generationPage_, this);
    export_ = new ExportController(*jobs_, *workspace_, this);
    reports_ = new ReportExporter(this);
    connect(models_, &ModelController::errorReported, this, &MainWindow::reportError);
    connect(importance_, &ImportanceController::errorReported, this, &MainWindow::reportError);
    connect(curve_, &PruningCurveController::errorReported, this, &MainWindow::reportError);
    connect(recovery_, &RecoveryController::errorReported, this, &MainWindow::reportError);
    connect(recovery_, &RecoveryController::statusMessage, status_, &QLabel::setText);
    connect(generation_, &GenerationController::errorReported, this, &MainWindow::reportError);
    connect(export_, &ExportController::errorReported, this, &MainWindow::reportError);
    connect(export_, &ExportController::statusMessage, status_, &QLabel::setText);
    connect(reports_, &ReportExporter::errorReported, this, &MainWindow::reportError);
    connect(reports_, &ReportExporter::statusMessage, status_, &QLabel::setText);

    // The pages' export buttons, as File > Export.
    connect(curvePage_, &PruningCurvePage::exportImageRequested, this, [this] {
        reports_->saveImage(curvePage_->chartView(), tr("pruning curve"), curvePage_->title());
    });
    connect(curvePage_, &PruningCurvePage::exportCsvRequested, this, [this] {
        reports_->saveTable(*curvePage_->model(), tr("pruning curve"), PruningCurveModel::ValueRole);
    });
    connect(scatterPage_, &MetricScatterPage::exportImageRequested, this, [this] {
        reports_->saveImage(scatterPage_->chartView(), tr("metric scatter"), scatterPage_->title());
    });
    connect(scatterPage_, &MetricScatterPage::exportCsvRequested, this, [this] {
        reports_->saveTable(*scatterPage_->model(), tr("metric scatter"), MetricScatterModel::ValueRole);
    });
    connect(recoveryPanel_, &RecoveryPanel::exportCurveImageRequested, this, [this] {
        reports_->saveImage(recoveryPanel_->lossChartView(), tr("recovery loss curve"),
                            tr("Adapter training loss"));
    });
    connect(recoveryPanel_, &RecoveryPanel::exportCurveCsvRequested, this, [this] {
        reports_->saveTable(*recoveryPanel_->lossCurve(), tr("recovery loss curve"),
                            LossCurveModel::ValueRole);
    });

    connect(workspace_, &Workspace::modelChanged, this, &MainWindow::updateTitle);
    // The plan panel's best run needs the angular distances for its run length: the layer map's
    // job computes them, and the plan is applied once they are in.
    connect(planPanel_, &PlanPanel::angularNeeded, this, [this](int n) {
        pendingRunLength_ = n;
        computeImportance({{"angular"}, n, 8});
    });
    connect(workspace_, &Workspace::scoresChanged, this, [this] {
        const auto& s = workspace_->scores();
        if (pendingRunLength_ > 0 && s.angularN == pendingRunLength_ &&
            !s.at("angular", Unit::Block).empty()) {
            pendingRunLength_ = 0;
            planPanel_->applyBestRun();
        }
    });

    session_ = new SessionController(*jobs_, *workspace_, *models_, recoveryPanel_, curvePage_->model(),
                                     generationPage_, this);
    report_ = new ReportController(
        *jobs_, [this] { return session_->current(); }, this);
    connect(report_, &ReportController::errorReported, this, &MainWindow::reportError);
    connect(report_, &ReportController::statusMessage, status_, &QLabel::setText);
    connect(session_, &SessionController::errorReported, this, &MainWindow::reportError);
    connect(session_, &SessionController::statusMessage, status_, &QLabel::setText);
}

void MainWindow::buildMenus() {
    auto* open = new QAction(tr("&Open model..."), this);
    open->setShortcut(QKeySequence::Open);
    connect(open, &QAction::triggered, models_, &ModelController::chooseAndOpen);
    auto* openDemo = new QAction(tr("Open the &demo model"), this);
    connect(openDemo, &QAction::triggered, models_, &ModelController::openDemo);
    auto* openSessionAction = new QAction(tr("Open &session..."), this);
    openSessionAction->setShortcut(Qt::CTRL | Qt::SHIFT | Qt::Key_O);
    connect(openSessionAction, &QAction::triggered, session_, &SessionController::chooseAndOpen);
    auto* saveSessionAction = new QAction(tr("&Save session"), this);
    saveSessionAction->setShortcut(QKeySequence::Save);
    connect(saveSessionAction, &QAction::triggered, session_, &SessionController::saveCurrent);
    auto* saveSessionAsAction = new QAction(tr("Save session &as..."), this);
    saveSessionAsAction->setShortcut(QKeySequence::SaveAs);
    connect(saveSessionAsAction, &QAction::triggered, session_, &SessionController::saveAs);
    auto* exportModelAction = new QAction(tr("E&xport pruned model..."), this);
    connect(exportModelAction, &QAction::triggered, export_, &ExportController::chooseAndExport);
    auto* quit = new QAction(tr("&Quit"), this);
    quit->setShortcut(QKeySequence::Quit);
    connect(quit, &QAction::triggered, this, &QWidget::close);

    auto* file = menuBar()->addMenu(tr("&File"));
    file->addAction(open);
    file->addAction(openDemo);
    recentMenu_ = file->addMenu(tr("&Recent models"));
    connect(recentMenu_, &QMenu::aboutToShow, this, &MainWindow::fillRecentMenu);
    fillRecentMenu();
    file->addSeparator();
    file->addAction(exportModelAction);
    file->addAction(tr("Export &report (HTML and PDF)..."), this, [this] {
        if (workspace_->hasModel()) report_->chooseAndExport();
    });
    file->addSeparator();
    file->addAction(openSessionAction);
    file->addAction(saveSessionAction);
    file->addAction(saveSessionAsAction);
    file->addSeparator();
    auto* exportMenu = file->addMenu(tr("&Export"));
    exportMenu->addAction(tr("Layer map as PNG/SVG..."), this,
                          [this] { reports_->saveImage(layerMap_, tr("layer map"), tr("Layer map")); });
    exportMenu->addAction(tr("Layer map table as CSV..."), this, [this] {
        reports_->saveTable(*layerMap_->model(), tr("layer map table"), LayerMapModel::ValueRole,
                            LayerMapModel::StdErrRole);
    });
    exportMenu->addAction(tr("Chart as PNG/SVG..."), this,
                          [this] { reports_->saveImage(chart_->chartView(), tr("chart"), chart_->title()); });
    exportMenu->addAction(tr("Chart data as CSV..."), this, [this] {
        reports_->saveCsv(tr("chart data"), [this](const QString& path) { return chart_->saveCsv(path); });
    });
    exportMenu->addAction(tr("Pruning curve as PNG/SVG..."), this, [this] {
        reports_->saveImage(curvePage_->chartView(), tr("pruning curve"), curvePage_->title());
    });
    exportMenu->addAction(tr("Pruning curve data as CSV..."), this, [this] {
        reports_->saveTable(*curvePage_->model(), tr("pruning curve"), PruningCurveModel::ValueRole);
    });
    exportMenu->addAction(tr("Cost table as CSV..."), this, [this] {
        reports_->saveTable(*costPanel_->model(), tr("cost table"), CostModel::ValueRole);
    });
    file->addSeparator();
    file->addAction(quit);

    auto* compute = new QAction(tr("&Compute importance"), this);
    compute->setShortcut(Qt::CTRL | Qt::Key_I);
    connect(compute, &QAction::triggered, this, [this] { computeImportance(layerMap_->request()); });
    auto* evaluateAction = new QAction(tr("&Evaluate"), this);
    evaluateAction->setShortcut(Qt::CTRL | Qt::Key_E);
    connect(evaluateAction, &QAction::triggered, evaluation_, &EvaluationController::evaluate);
    auto* cancel = new QAction(tr("&Stop jobs"), this);
    cancel->setShortcut(Qt::Key_Escape);
    connect(cancel, &QAction::triggered, jobs_, &JobRunner::cancelAll);
    auto* analysis = menuBar()->addMenu(tr("&Analysis"));
    analysis->addAction(compute);
    analysis->addAction(evaluateAction);
    analysis->addAction(cancel);

    auto* toolbar = addToolBar(tr("Main"));
    toolbar->setObjectName(QStringLiteral("MainToolBar"));
    toolbar->addAction(open);
    toolbar->addAction(compute);
    toolbar->addAction(evaluateAction);
}

void MainWindow::updateTitle() {
    const auto& s = workspace_->summary();
    setWindowTitle(s.empty() ? tr("LayerLab")
                             : tr("%1 - LayerLab").arg(QFileInfo(QString::fromStdString(s.dir)).fileName()));
}

void MainWindow::fillRecentMenu() {
    recentMenu_->clear();
    const auto recent = ModelController::recentModels();
    for (const auto& dir : recent) {
        auto* action = recentMenu_->addAction(dir);
        connect(action, &QAction::triggered, this, [this, dir] { openModel(dir); });
    }
    if (recent.isEmpty()) recentMenu_->addAction(tr("(none yet)"))->setEnabled(false);
}

void MainWindow::reportError(const QString& title, const QString& message) {
    Q_EMIT errorReported(title, message);
    if (!interactive_) {
        std::cerr << title.toStdString() << ": " << message.toStdString() << "\n";
        status_->setText(title + QStringLiteral(": ") + message);
        return;
    }
    QMessageBox::critical(this, title, message);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    const auto* mime = event->mimeData();
    if (mime->hasUrls() && !mime->urls().isEmpty() && mime->urls().first().isLocalFile() &&
        !ModelController::folderOf(mime->urls().first().toLocalFile()).isEmpty())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
    const auto urls = event->mimeData()->urls();
    if (urls.isEmpty()) return;
    event->acceptProposedAction();
    openModel(urls.first().toLocalFile());
}

void MainWindow::closeEvent(QCloseEvent* event) {
    QSettings settings;
    settings.setValue(QStringLiteral("geometry"), saveGeometry());
    settings.setValue(QStringLiteral("windowState"), saveState());
    jobs_->cancelAll();
    session_->removeAutosave(); // a clean exit: nothing to recover
    QMainWindow::closeEvent(event);
}

} // namespace layerlab::ui
