// layerlab: the Qt workbench. `layerlab [MODEL_DIR | SESSION.layerlab]` opens a model folder or a
// saved session at start; without one, a crash-recovery copy is offered when there is one.
// `--screenshot FILE` opens the model (the demo without MODEL_DIR), computes cosine, angular and
// drop-loss importance, removes the best run of two blocks, fits bias adapters for them, evaluates,
// saves the window as PNG; then runs a pruning curve and a generation and saves those tabs as
// FILE's name + "_curve.png" / "_generate.png", and exits (docs, layout checks).
// `--self-test FILE` opens the model (the demo without MODEL_DIR), computes one metric (cosine),
// saves the window as PNG and exits: the check that a new installation works
// (tools/clean_machine_check.sh runs it through `tools/workbench.sh start --self-test FILE`).

#include "common/attention_backend.h"
#include "common/gpu_allocator.h"
#include "common/host_allocator.h"
#include "cost/plan_panel.h"
#include "curve/pruning_curve_page.h"
#include "export/report_export.h"
#include "generation/generation_page.h"
#include "jobs/job_runner.h"
#include "layer_map/layer_map_page.h"
#include "window/main_window.h"
#include "workspace/demo_resources.h"
#include "workspace/workspace.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QTabWidget>
#include <QTimer>

#include <iostream>

namespace {

// A scripted run: no dialogs, any reported error or ten minutes without finishing exits with 1.
void runUnattended(layerlab::ui::MainWindow& window, const char* what) {
    using namespace layerlab::ui;
    window.setInteractive(false);
    QObject::connect(
        &window, &MainWindow::errorReported, qApp, [what](const QString& title, const QString& text) {
            std::cerr << what << ": " << title.toStdString() << ": " << text.toStdString() << "\n";
            QCoreApplication::exit(1);
        });
    QTimer::singleShot(10 * 60 * 1000, qApp, [what] {
        std::cerr << what << ": timed out\n";
        QCoreApplication::exit(1);
    });
}

void saveOrExit(QWidget* widget, const QString& path) {
    const auto error = layerlab::ui::saveWidgetImage(widget, path);
    if (!error.isEmpty()) {
        std::cerr << error.toStdString() << "\n";
        QCoreApplication::exit(1);
    }
}

void selfTest(layerlab::ui::MainWindow& window, const QString& file) {
    using namespace layerlab::ui;
    runUnattended(window, "self-test");
    auto step = std::make_shared<int>(0);
    QObject::connect(window.jobs(), &JobRunner::idle, qApp, [&window, file, step] {
        if ((*step)++ == 0) { // model loaded
            window.computeImportance({{"cosine"}, 2, 8});
            return;
        }
        QTimer::singleShot(300, qApp, [&window, file] {
            saveOrExit(&window, file);
            std::cout << "self-test: demo opened, cosine importance computed, window saved to "
                      << file.toStdString() << "\n";
            QCoreApplication::exit(0);
        });
    });
}

// Drives the window through a realistic session, one step per idle job queue.
void takeScreenshot(layerlab::ui::MainWindow& window, const QString& file) {
    using namespace layerlab::ui;
    runUnattended(window, "screenshot");
    auto step = std::make_shared<int>(0);
    const QFileInfo info(file);
    const QString base = info.dir().filePath(info.completeBaseName());
    auto save = [&window](const QString& path) { saveOrExit(&window, path); };
    QObject::connect(window.jobs(), &JobRunner::idle, qApp, [&window, file, base, step, save] {
        switch ((*step)++) {
        case 0: // model loaded
            window.computeImportance({{"cosine", "angular", "drop_loss"}, 2, 8});
            break;
        case 1:
            window.planPanel()->setRunLength(2);
            window.planPanel()->applyBestRun();
            window.recover({RecoveryMethod::Bias, 16, 1e-4, 8});
            break;
        case 2:
            window.evaluate();
            break;
        case 3:
            QTimer::singleShot(300, qApp, [&window, file, save] {
                save(file);
                PruningCurveRequest curve;
                curve.metrics = {"cosine", "drop_loss", "angular"};
                curve.maxUnits = 5;
                window.tabs()->setCurrentIndex(1);
                window.curvePage()->setRequest(curve);
                window.runPruningCurve(curve);
            });
            break;
        case 4:
            QTimer::singleShot(300, qApp, [&window, base, save] {
                save(base + QStringLiteral("_curve.png"));
                window.tabs()->setCurrentWidget(window.generationPage());
                const GenerationRequest g{"And God said", 40, 0, 1, 0};
                window.generationPage()->setRequest(g);
                window.generate(g);
            });
            break;
        default:
            QTimer::singleShot(300, qApp, [base, save] {
                save(base + QStringLiteral("_generate.png"));
                QCoreApplication::exit(0);
            });
        }
    });
}

} // namespace

int main(int argc, char** argv) {
    layerlab::configureHostMemory();
    layerlab::useExpandableGpuSegments();
    if (const auto warning = layerlab::chooseAttentionBackend(); !warning.empty())
        std::cerr << "layerlab: " << warning << "\n";
    QApplication app(argc, argv);
    QApplication::setApplicationName("LayerLab");
    QApplication::setOrganizationName("LayerLab");
    QApplication::setApplicationVersion(LAYERLAB_VERSION);
    QCommandLineParser parser;
    parser.setApplicationDescription("Depth-pruning workbench for LLMs");
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument("model", "Hugging Face model folder or .layerlab session to open");
    QCommandLineOption screenshot("screenshot",
                                  "Run a short demo session, save the window as PNG to FILE, exit.", "FILE");
    parser.addOption(screenshot);
    QCommandLineOption selfTestOption(
        "self-test",
        "Open the model (the demo by default), compute one metric, save the window as PNG to FILE, exit.",
        "FILE");
    parser.addOption(selfTestOption);
    parser.process(app);

    layerlab::ui::MainWindow window;
    window.show();
    QString dir = parser.positionalArguments().isEmpty() ? QString() : parser.positionalArguments().first();
    const bool scripted = parser.isSet(screenshot) || parser.isSet(selfTestOption);
    if (scripted && dir.isEmpty()) dir = layerlab::ui::demoModelDir();
    if (scripted && dir.isEmpty()) {
        std::cerr << "no model folder given and no demo model found (resources/demo, $LAYERLAB_DEMO_MODEL)\n";
        return 2;
    }
    if (parser.isSet(screenshot))
        takeScreenshot(window, parser.value(screenshot));
    else if (parser.isSet(selfTestOption))
        selfTest(window, parser.value(selfTestOption));
    if (dir.endsWith(".layerlab"))
        window.openSession(dir);
    else if (!dir.isEmpty())
        window.openModel(dir);
    else if (!scripted)
        QTimer::singleShot(0, &window, [&window] { window.restoreAutosave(); });
    return app.exec();
}
