#include "window/main_window.h"

#include "cost/cost_model.h"
#include "cost/cost_panel.h"
#include "cost/plan_panel.h"
#include "cost/quick_evaluation.h"
#include "curve/pruning_curve_model.h"
#include "curve/pruning_curve_page.h"
#include "export/export_dialog.h"
#include "export/report_export.h"
#include "generation/generation_page.h"
#include "jobs/job_runner.h"
#include "layer_map/importance_chart.h"
#include "layer_map/layer_map_model.h"
#include "layer_map/layer_map_page.h"
#include "recovery/loss_curve_model.h"
#include "recovery/recovery_panel.h"
#include "scatter/metric_scatter_model.h"
#include "scatter/metric_scatter_page.h"
#include "session/session_file.h"
#include "session/workbench_session.h"
#include "window/model_panel.h"
#include "workspace/demo_resources.h"
#include "workspace/evaluation_inputs.h"
#include "workspace/model_loading.h"
#include "workspace/workspace.h"

#include <QAction>
#include <QChartView>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QGroupBox>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSplitter>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>

#include <algorithm>
#include <iostream>

namespace layerlab::ui {

namespace {

constexpr int kMaxRecent = 8;

// A folder dropped or given: the folder itself, or the folder of a file dropped from inside it.
QString modelFolderOf(const QString& path) {
    const QFileInfo info(path);
    if (info.isDir()) return info.absoluteFilePath();
    if (info.isFile()) return info.absolutePath();
    return {};
}

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
    resize(1400, 860);
    workspace_->setDataSettings(defaultDataSettings());

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

    statusBar()->addWidget(status_, 1);
    progress_->setMinimumWidth(220);
    statusBar()->addPermanentWidget(progress_);
    statusBar()->addPermanentWidget(cancel_);
    progress_->hide();
    cancel_->hide();
    cancel_->setToolTip(tr("Stop the running job and drop the queued ones"));
    status_->setText(tr("Open a Hugging Face model folder (File > Open model) or drop one here."));

    buildMenus();

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

    connect(modelPanel_, &ModelPanel::reloadRequested, this,
            [this](const QString& device, const QString& dtype) {
                if (workspace_->hasModel())
                    openModel(QString::fromStdString(workspace_->summary().dir), device, dtype);
            });
    connect(layerMap_, &LayerMapPage::computeRequested, this, &MainWindow::computeImportance);
    connect(costPanel_, &CostPanel::evaluateRequested, this, &MainWindow::evaluate);
    connect(costPanel_, &CostPanel::autoEvaluateToggled, this, [this](bool on) {
        QSettings().setValue(QStringLiteral("autoEvaluate"), on);
        if (on && workspace_->hasModel()) evaluate();
    });
    connect(planPanel_, &PlanPanel::angularNeeded, this, [this](int n) {
        pendingRunLength_ = n;
        computeImportance({{"angular"}, n, 8});
    });
    connect(curvePage_, &PruningCurvePage::runRequested, this, &MainWindow::runPruningCurve);
    connect(curvePage_, &PruningCurvePage::stopRequested, this,
            [this] { jobs_->cancelKind(QStringLiteral("curve")); });
    connect(curvePage_, &PruningCurvePage::exportImageRequested, this,
            [this] { exportImage(curvePage_->chartView(), tr("pruning curve"), curvePage_->title()); });
    connect(curvePage_, &PruningCurvePage::exportCsvRequested, this, [this] {
        exportCsv(tr("pruning curve"), [this](const QString& path) {
            return saveTableCsv(*curvePage_->model(), path, PruningCurveModel::ValueRole);
        });
    });
    connect(scatterPage_, &MetricScatterPage::exportImageRequested, this,
            [this] { exportImage(scatterPage_->chartView(), tr("metric scatter"), scatterPage_->title()); });
    connect(scatterPage_, &MetricScatterPage::exportCsvRequested, this, [this] {
        exportCsv(tr("metric scatter"), [this](const QString& path) {
            return saveTableCsv(*scatterPage_->model(), path, MetricScatterModel::ValueRole);
        });
    });
    connect(recoveryPanel_, &RecoveryPanel::fitRequested, this, &MainWindow::recover);
    connect(recoveryPanel_, &RecoveryPanel::removeRequested, this, &MainWindow::removeAdapters);
    connect(recoveryPanel_, &RecoveryPanel::exportCurveImageRequested, this, [this] {
        exportImage(recoveryPanel_->lossChartView(), tr("recovery loss curve"), tr("Adapter training loss"));
    });
    connect(recoveryPanel_, &RecoveryPanel::exportCurveCsvRequested, this, [this] {
        exportCsv(tr("recovery loss curve"), [this](const QString& path) {
            return saveTableCsv(*recoveryPanel_->lossCurve(), path, LossCurveModel::ValueRole);
        });
    });
    connect(recoveryPanel_, &RecoveryPanel::saveRequested, this, [this] {
        auto path =
            QFileDialog::getSaveFileName(this, tr("Save adapters"), {}, tr("safetensors (*.safetensors)"));
        if (path.isEmpty()) return;
        if (!path.endsWith(QStringLiteral(".safetensors"))) path += QStringLiteral(".safetensors");
        if (const auto error = saveInstalledAdapters(*workspace_, path); !error.isEmpty())
            reportError(tr("Saving adapters failed"), error);
        else
            status_->setText(tr("Wrote %1").arg(path));
    });
    connect(generationPage_, &GenerationPage::generateRequested, this, &MainWindow::generate);
    connect(workspace_, &Workspace::maskChanged, this, &MainWindow::maskChanged);
    connect(workspace_, &Workspace::adaptersChanged, this, [this] {
        // The latest evaluation was of the model without these adapters.
        if (costPanel_->autoEvaluate() && workspace_->hasModel() && !workspace_->mask().empty()) evaluate();
    });
    connect(workspace_, &Workspace::modelChanged, this, &MainWindow::updateTitle);
    connect(workspace_, &Workspace::scoresChanged, this, [this] {
        const auto& s = workspace_->scores();
        if (pendingRunLength_ > 0 && s.angularN == pendingRunLength_ &&
            !s.at("angular", Unit::Block).empty()) {
            pendingRunLength_ = 0;
            planPanel_->applyBestRun();
        }
    });

    // Crash recovery: a copy of the session every minute while something changed.
    for (auto signal :
         {&Workspace::maskChanged, &Workspace::scoresChanged, &Workspace::evaluationChanged,
          &Workspace::adaptersChanged, &Workspace::dataSettingsChanged, &Workspace::modelChanged})
        connect(workspace_, signal, this, &MainWindow::markDirty);
    auto* autosaveTimer = new QTimer(this);
    autosaveTimer->setInterval(60 * 1000);
    connect(autosaveTimer, &QTimer::timeout, this, &MainWindow::autosave);
    autosaveTimer->start();

    QSettings settings;
    restoreGeometry(settings.value(QStringLiteral("geometry")).toByteArray());
    restoreState(settings.value(QStringLiteral("windowState")).toByteArray());
    costPanel_->setAutoEvaluate(settings.value(QStringLiteral("autoEvaluate"), false).toBool());
    modelPanel_->setDevice(settings.value(QStringLiteral("device"), QStringLiteral("cpu")).toString());
    modelPanel_->setDtype(settings.value(QStringLiteral("dtype"), QStringLiteral("f32")).toString());
}

MainWindow::~MainWindow() {
    // Stop the worker before the workspace it posts to goes away.
    delete jobs_;
}

void MainWindow::buildMenus() {
    auto* open = new QAction(tr("&Open model..."), this);
    open->setShortcut(QKeySequence::Open);
    connect(open, &QAction::triggered, this, &MainWindow::chooseModel);
    auto* openDemo = new QAction(tr("Open the &demo model"), this);
    connect(openDemo, &QAction::triggered, this, [this] {
        const auto demo = demoModelDir();
        if (demo.isEmpty())
            reportError(tr("Cannot open the demo model"), tr("The bundled demo model was not found."));
        else
            openModel(demo);
    });
    auto* openSessionAction = new QAction(tr("Open &session..."), this);
    openSessionAction->setShortcut(Qt::CTRL | Qt::SHIFT | Qt::Key_O);
    connect(openSessionAction, &QAction::triggered, this, [this] {
        const auto path = QFileDialog::getOpenFileName(this, tr("Open session"), sessionPath_,
                                                       tr("LayerLab sessions (*.layerlab)"));
        if (!path.isEmpty()) openSession(path);
    });
    auto saveAs = [this] {
        auto path = QFileDialog::getSaveFileName(this, tr("Save session"), sessionPath_,
                                                 tr("LayerLab sessions (*.layerlab)"));
        if (path.isEmpty()) return;
        if (!path.endsWith(QStringLiteral(".layerlab"))) path += QStringLiteral(".layerlab");
        if (const auto error = saveSession(path); !error.isEmpty())
            reportError(tr("Saving the session failed"), error);
    };
    auto* saveSessionAction = new QAction(tr("&Save session"), this);
    saveSessionAction->setShortcut(QKeySequence::Save);
    connect(saveSessionAction, &QAction::triggered, this, [this, saveAs] {
        if (sessionPath_.isEmpty()) return saveAs();
        if (const auto error = saveSession(sessionPath_); !error.isEmpty())
            reportError(tr("Saving the session failed"), error);
    });
    auto* saveSessionAsAction = new QAction(tr("Save session &as..."), this);
    saveSessionAsAction->setShortcut(QKeySequence::SaveAs);
    connect(saveSessionAsAction, &QAction::triggered, this, saveAs);
    auto* exportModelAction = new QAction(tr("E&xport pruned model..."), this);
    connect(exportModelAction, &QAction::triggered, this, [this] {
        const auto model = workspace_->model();
        if (!model) return reportError(tr("Nothing to export"), tr("Open a model first."));
        const auto mask = workspace_->mask();
        ExportDialog dialog(
            [model, mask](const ExportSettings& s) { return exportManifestPreview(*model, mask, s); }, this);
        if (dialog.exec() == QDialog::Accepted) exportModel(dialog.settings());
    });
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
    file->addSeparator();
    file->addAction(openSessionAction);
    file->addAction(saveSessionAction);
    file->addAction(saveSessionAsAction);
    file->addSeparator();
    auto* exportMenu = file->addMenu(tr("&Export"));
    exportMenu->addAction(tr("Layer map as PNG/SVG..."), this,
                          [this] { exportImage(layerMap_, tr("layer map"), tr("Layer map")); });
    exportMenu->addAction(tr("Layer map table as CSV..."), this, [this] {
        exportCsv(tr("layer map table"), [this](const QString& path) {
            return saveTableCsv(*layerMap_->model(), path, LayerMapModel::ValueRole,
                                LayerMapModel::StdErrRole);
        });
    });
    exportMenu->addAction(tr("Chart as PNG/SVG..."), this,
                          [this] { exportImage(chart_->chartView(), tr("chart"), chart_->title()); });
    exportMenu->addAction(tr("Chart data as CSV..."), this, [this] {
        exportCsv(tr("chart data"), [this](const QString& path) { return chart_->saveCsv(path); });
    });
    exportMenu->addAction(tr("Pruning curve as PNG/SVG..."), this, [this] {
        exportImage(curvePage_->chartView(), tr("pruning curve"), curvePage_->title());
    });
    exportMenu->addAction(tr("Pruning curve data as CSV..."), this, [this] {
        exportCsv(tr("pruning curve"), [this](const QString& path) {
            return saveTableCsv(*curvePage_->model(), path, PruningCurveModel::ValueRole);
        });
    });
    exportMenu->addAction(tr("Cost table as CSV..."), this, [this] {
        exportCsv(tr("cost table"), [this](const QString& path) {
            return saveTableCsv(*costPanel_->model(), path, CostModel::ValueRole);
        });
    });
    file->addSeparator();
    file->addAction(quit);

    auto* compute = new QAction(tr("&Compute importance"), this);
    compute->setShortcut(Qt::CTRL | Qt::Key_I);
    connect(compute, &QAction::triggered, this, [this] { computeImportance(layerMap_->request()); });
    auto* evaluateAction = new QAction(tr("&Evaluate"), this);
    evaluateAction->setShortcut(Qt::CTRL | Qt::Key_E);
    connect(evaluateAction, &QAction::triggered, this, &MainWindow::evaluate);
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

void MainWindow::chooseModel() {
    const auto dir =
        QFileDialog::getExistingDirectory(this, tr("Open a Hugging Face model folder"),
                                          QSettings().value(QStringLiteral("lastDir")).toString());
    if (!dir.isEmpty()) openModel(dir);
}

void MainWindow::openModel(const QString& dir, const QString& deviceIn, const QString& dtypeIn,
                           std::function<void()> then) {
    const QString folder = modelFolderOf(dir);
    if (folder.isEmpty()) {
        reportError(tr("Cannot open model"), tr("%1: no such folder").arg(dir));
        return;
    }
    if (!QFileInfo::exists(QDir(folder).filePath(QStringLiteral("config.json")))) {
        reportError(tr("Cannot open model"),
                    tr("%1: not a Hugging Face model folder (it has no config.json)").arg(folder));
        return;
    }
    const QString device = deviceIn.isEmpty() ? modelPanel_->device() : deviceIn;
    const QString dtype = dtypeIn.isEmpty() ? modelPanel_->dtype() : dtypeIn;
    // Jobs of the old model would post into the new one's state.
    jobs_->cancelAll();
    const auto path = std::filesystem::path(folder.toStdString());
    const bool sameModel = workspace_->hasModel() && workspace_->summary().dir == path.string();
    const LayerMask keepMask = workspace_->mask();
    const auto dev = device.toStdString();
    const auto dt = dtype.toStdString();
    auto* ws = workspace_;
    jobs_->submit(
        tr("Opening %1").arg(QFileInfo(folder).fileName()),
        [=, this](const JobContext& ctx) {
            auto loaded = std::make_shared<LoadedModel>(loadModelFolder(path, dev, dt, ctx.progress()));
            ctx.post([=, this] {
                ws->setModel(loaded->model, loaded->tokenizer, loaded->summary);
                // Loading again elsewhere keeps the removal set the user built.
                if (sameModel && keepMask.numLayers() == ws->numLayers()) ws->setMask(keepMask);
                rememberRecent(folder);
                QSettings().setValue(QStringLiteral("device"), device);
                QSettings().setValue(QStringLiteral("dtype"), dtype);
                for (const auto& name : loaded->summary.unusedTensors)
                    std::cerr << "note: tensor '" << name << "' in the checkpoint is not used\n";
                if (then) then();
            });
        },
        QStringLiteral("load"));
}

QString MainWindow::autosavePath() {
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    QDir().mkpath(dir);
    return QDir(dir).filePath(QStringLiteral("autosave.layerlab"));
}

QString MainWindow::saveSession(const QString& path) {
    if (!workspace_->hasModel()) return tr("There is no model open: nothing to save.");
    const std::filesystem::path file = path.toStdString();
    const auto adapters = adaptersPathFor(file);
    const bool hasAdapters = hasInstalledAdapters(*workspace_);
    if (hasAdapters) {
        if (const auto error = saveInstalledAdapters(*workspace_, QString::fromStdString(adapters.string()));
            !error.isEmpty())
            return error;
    }
    try {
        // The adapters file is named relative to the session, so the two move together.
        writeSessionFile(file, captureSession(*workspace_,
                                              hasAdapters ? adapters.filename() : std::filesystem::path(),
                                              recoveryPanel_->resultText()));
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
    if (path != autosavePath()) {
        sessionPath_ = path;
        status_->setText(tr("Saved session %1").arg(path));
    }
    return {};
}

void MainWindow::openSession(const QString& path) {
    Session session;
    try {
        session = readSessionFile(path.toStdString());
    } catch (const std::exception& e) {
        reportError(tr("Cannot open the session"), QString::fromStdString(e.what()));
        return;
    }
    if (path != autosavePath()) sessionPath_ = path;
    const QString adapters = QString::fromStdString(session.adapters.string());
    openModel(QString::fromStdString(session.modelDir.string()), QString::fromStdString(session.device),
              QString::fromStdString(session.dtype), [this, session, adapters, path] {
                  try {
                      applySession(*workspace_, session);
                  } catch (const std::exception& e) {
                      reportError(tr("The session does not fit the model"),
                                  tr("%1: %2").arg(path, QString::fromStdString(e.what())));
                      return;
                  }
                  if (!adapters.isEmpty())
                      submitInstallAdapters(*jobs_, *workspace_, adapters, [this](const QString& error) {
                          reportError(tr("Cannot install the session's adapters"), error);
                      });
                  if (session.recovery.is_object() && session.recovery.contains("text") &&
                      session.recovery["text"].is_string())
                      recoveryPanel_->showSavedResult(
                          QString::fromStdString(session.recovery["text"].get<std::string>()));
                  status_->setText(tr("Opened session %1").arg(path));
                  dirty_ = false;
              });
}

bool MainWindow::restoreAutosave() {
    const QString path = autosavePath();
    if (!QFileInfo::exists(path)) return false;
    if (interactive_ &&
        QMessageBox::question(this, tr("Restore the last session?"),
                              tr("LayerLab did not exit cleanly last time. Restore the session it was "
                                 "working on?")) != QMessageBox::Yes) {
        QFile::remove(path);
        return false;
    }
    openSession(path);
    return true;
}

void MainWindow::autosave() {
    if (!dirty_ || !workspace_->hasModel()) return;
    dirty_ = false;
    // The adapters are read on this (GUI) thread, where installing them also happens.
    if (const auto error = saveSession(autosavePath()); !error.isEmpty())
        std::cerr << "autosave: " << error.toStdString() << "\n";
}

void MainWindow::computeImportance(const ImportanceJobRequest& requestIn) {
    if (!workspace_->hasModel()) {
        reportError(tr("Nothing to compute"), tr("Open a model first."));
        return;
    }
    if (requestIn.metrics.empty()) {
        reportError(tr("Nothing to compute"), tr("Tick at least one metric."));
        return;
    }
    auto request = requestIn;
    auto* ws = workspace_;
    const auto model = ws->model();
    const auto tokenizer = ws->tokenizer();
    const auto inputs = ws->inputs();
    const auto settings = ws->dataSettings();
    QString names;
    for (const auto& m : request.metrics)
        names += (names.isEmpty() ? "" : ", ") + QString::fromStdString(m);
    const bool valued = std::any_of(request.metrics.begin(), request.metrics.end(), usesValueFunction);
    if (valued && request.valueFunction != "loss")
        names += tr("; value %1").arg(QString::fromStdString(request.valueFunction));
    jobs_->submit(tr("Importance (%1)").arg(names), [=](const JobContext& ctx) {
        const auto in = inputsOrLoad(inputs, *model, tokenizer.get(), settings, ctx.progress(),
                                     [&](auto loaded) { ctx.post([ws, loaded] { ws->setInputs(loaded); }); });
        const auto windows = sampleWindows(in->windows, settings.importanceWindows);
        std::vector<TokenWindow> valueWindows;
        if (valued && request.valueFunction == "task_loss")
            valueWindows = taskLossWindows(tokenizer.get(), *in, settings.evaluationItems);
        runImportanceStages(
            *model, windows, valueWindows, request,
            [&](const ScoreTable& stage) { ctx.post([ws, stage] { ws->mergeScores(stage); }); },
            ctx.progress());
    });
}

void MainWindow::runPruningCurve(const PruningCurveRequest& request) {
    if (!workspace_->hasModel()) {
        reportError(tr("No pruning curve"), tr("Open a model first."));
        return;
    }
    if (request.metrics.empty()) {
        reportError(tr("No pruning curve"), tr("Tick at least one metric."));
        return;
    }
    auto* ws = workspace_;
    auto* page = curvePage_;
    const auto model = ws->model();
    const auto tokenizer = ws->tokenizer();
    const auto inputs = ws->inputs();
    const auto settings = ws->dataSettings();
    const auto known = ws->scores();
    page->model()->clear();
    page->setRunning(true);
    jobs_->submit(
        tr("Pruning curve"),
        [=](const JobContext& ctx) {
            const auto in =
                inputsOrLoad(inputs, *model, tokenizer.get(), settings, ctx.progress(),
                             [&](auto loaded) { ctx.post([ws, loaded] { ws->setInputs(loaded); }); });
            layerlab::ui::runPruningCurve(
                *model, tokenizer.get(), *in, settings, known, request,
                [&](const ScoreTable& t) { ctx.post([ws, t] { ws->mergeScores(t); }); },
                [&](const PruningCurvePoint& p) { ctx.post([page, p] { page->model()->addPoint(p); }); },
                ctx.progress());
        },
        QStringLiteral("curve"));
    jobs_->submitGuiStep(
        tr("Pruning curve finished"), [page] { page->setRunning(false); }, true);
}

void MainWindow::recover(const RecoveryRequest& request) {
    if (!workspace_->hasModel() || workspace_->mask().empty()) {
        reportError(tr("Nothing to recover"),
                    tr("Remove some units first: adapters stand in for removed units."));
        return;
    }
    auto* panel = recoveryPanel_;
    if (request.trained()) panel->clearLossCurve();
    submitRecovery(
        *jobs_, *workspace_, request, [panel](const RecoveryResult& r) { panel->showResult(r); },
        [panel](int64_t step, double loss) { panel->addTrainingStep(step, loss); });
}

void MainWindow::removeAdapters() {
    submitRemoveAdapters(*jobs_, *workspace_);
}

void MainWindow::generate(const GenerationRequest& request) {
    if (!workspace_->hasModel()) {
        reportError(tr("Nothing to generate with"), tr("Open a model first."));
        return;
    }
    auto* page = generationPage_;
    const auto model = workspace_->model();
    const auto tokenizer = workspace_->tokenizer();
    const auto mask = workspace_->mask();
    jobs_->submit(
        tr("Generating"),
        [=](const JobContext& ctx) {
            const auto r = runGeneration(*model, tokenizer.get(), mask, request, ctx.progress());
            ctx.post([page, r] { page->showResult(r); });
        },
        QStringLiteral("generate"));
}

void MainWindow::exportModel(const ExportSettings& settings) {
    if (!workspace_->hasModel()) return;
    const auto model = workspace_->model();
    const auto mask = workspace_->mask();
    auto* status = status_;
    jobs_->submit(tr("Exporting to %1").arg(settings.out), [=](const JobContext& ctx) {
        const auto o = runExport(*model, mask, settings, ctx.progress());
        ctx.post([status, o] {
            status->setText(tr("Exported %1 layers (%2) to %3: %4 files, %5 GB")
                                .arg(o.layers)
                                .arg(QString::fromStdString(o.format), QString::fromStdString(o.out))
                                .arg(o.files)
                                .arg(static_cast<double>(o.bytes) / 1e9, 0, 'f', 3));
        });
    });
}

void MainWindow::evaluate() {
    if (!workspace_->hasModel()) return;
    auto* ws = workspace_;
    auto* panel = costPanel_;
    const auto model = ws->model();
    const auto tokenizer = ws->tokenizer();
    const auto inputs = ws->inputs();
    const auto settings = ws->dataSettings();
    const auto mask = ws->mask();
    const LayerMask full(ws->numLayers());
    std::vector<std::optional<QuickEvaluation>> baselines;
    for (int level = 0; level < kQuickLevels; ++level)
        baselines.push_back(ws->baseline(level));
    panel->setEvaluationStatus(tr("Evaluating on a small sample..."));
    // A newer evaluation supersedes a running one: only the latest removal set matters.
    jobs_->submit(
        tr("Quick evaluation"),
        [=](const JobContext& ctx) {
            const auto in =
                inputsOrLoad(inputs, *model, tokenizer.get(), settings, ctx.progress(),
                             [&](auto loaded) { ctx.post([ws, loaded] { ws->setInputs(loaded); }); });
            for (int level = 0; level < kQuickLevels; ++level) {
                const auto sizes = quickLevel(settings, level);
                if (!baselines[level]) {
                    const auto r =
                        runQuickEvaluation(*model, tokenizer.get(), *in, level, sizes, full, ctx.progress());
                    ctx.post([ws, r] { ws->addEvaluation(r); });
                } else if (mask.empty()) {
                    // Back to the full model: its known result is the current one again.
                    ctx.post([ws, r = *baselines[level]] { ws->addEvaluation(r); });
                }
                if (!mask.empty()) {
                    const auto r =
                        runQuickEvaluation(*model, tokenizer.get(), *in, level, sizes, mask, ctx.progress());
                    ctx.post([ws, r] { ws->addEvaluation(r); });
                }

                const QString text =
                    level + 1 < kQuickLevels
                        ? tr("Quick estimate (%1 windows, up to %2 items per task); refining...")
                              .arg(sizes.windows)
                              .arg(sizes.items)
                        : tr("Refined (%1 windows, up to %2 items per task).")
                              .arg(sizes.windows)
                              .arg(sizes.items);
                ctx.post([panel, text] { panel->setEvaluationStatus(text); });
            }
        },
        QStringLiteral("evaluate"));
}

void MainWindow::maskChanged() {
    if (costPanel_->autoEvaluate() && workspace_->hasModel()) evaluate();
}

void MainWindow::updateTitle() {
    const auto& s = workspace_->summary();
    setWindowTitle(s.empty() ? tr("LayerLab")
                             : tr("%1 - LayerLab").arg(QFileInfo(QString::fromStdString(s.dir)).fileName()));
}

void MainWindow::rememberRecent(const QString& dir) {
    QSettings settings;
    auto recent = settings.value(QStringLiteral("recentModels")).toStringList();
    recent.removeAll(dir);
    recent.prepend(dir);
    while (recent.size() > kMaxRecent)
        recent.removeLast();
    settings.setValue(QStringLiteral("recentModels"), recent);
    settings.setValue(QStringLiteral("lastDir"), QFileInfo(dir).absolutePath());
}

void MainWindow::fillRecentMenu() {
    recentMenu_->clear();
    const auto recent = QSettings().value(QStringLiteral("recentModels")).toStringList();
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

void MainWindow::exportImage(QWidget* widget, const QString& what, const QString& title) {
    QString filter;
    auto path = QFileDialog::getSaveFileName(this, tr("Export %1").arg(what), {},
                                             tr("PNG image (*.png);;SVG image (*.svg)"), &filter);
    if (path.isEmpty()) return;
    if (!path.endsWith(QStringLiteral(".png"), Qt::CaseInsensitive) &&
        !path.endsWith(QStringLiteral(".svg"), Qt::CaseInsensitive))
        path += filter.contains(QStringLiteral("svg")) ? QStringLiteral(".svg") : QStringLiteral(".png");
    if (const auto error = saveWidgetImage(widget, path, title); !error.isEmpty())
        reportError(tr("Export failed"), error);
    else
        status_->setText(tr("Wrote %1").arg(path));
}

void MainWindow::exportCsv(const QString& what, const std::function<QString(const QString&)>& save) {
    auto path = QFileDialog::getSaveFileName(this, tr("Export %1").arg(what), {}, tr("CSV (*.csv)"));
    if (path.isEmpty()) return;
    if (!path.endsWith(QStringLiteral(".csv"), Qt::CaseInsensitive)) path += QStringLiteral(".csv");
    if (const auto error = save(path); !error.isEmpty())
        reportError(tr("Export failed"), error);
    else
        status_->setText(tr("Wrote %1").arg(path));
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
    const auto* mime = event->mimeData();
    if (mime->hasUrls() && !mime->urls().isEmpty() && mime->urls().first().isLocalFile() &&
        !modelFolderOf(mime->urls().first().toLocalFile()).isEmpty())
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
    QFile::remove(autosavePath()); // a clean exit: nothing to recover
    QFile::remove(QString::fromStdString(adaptersPathFor(autosavePath().toStdString()).string()));
    QMainWindow::closeEvent(event);
}

} // namespace layerlab::ui
