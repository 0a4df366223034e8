// Toggle-to-number latency of the workbench: the real window (offscreen), Auto-evaluate on, one
// unit toggled at a time; for each toggle, the time until the cost panel has the new loss, the
// quick task accuracy, and the refined numbers, and the longest stall of the GUI thread (a 10 ms
// timer). Usage: bench_toggle [MODEL_DIR] [DEVICE] [DTYPE] [TOGGLES]
//   defaults: resources/demo cpu f32 8; results go to bench/results/toggle_*.md.

#include "common/host_allocator.h"
#include "cost/cost_panel.h"
#include "workbench_probe.h"

#include <QApplication>
#include <QSettings>

#include <cstdlib>

using namespace layerlab;
using namespace layerlab::ui;
using layerlab::bench::runUntilIdle;
using layerlab::bench::seconds;

int main(int argc, char** argv) {
    configureHostMemory(); // as the workbench does
    if (!std::getenv("QT_QPA_PLATFORM")) setenv("QT_QPA_PLATFORM", "offscreen", 1);
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("LayerLab-bench"));
    QSettings().clear(); // every run starts from the defaults (Auto-evaluate off, no window state)
    const QString dir =
        argc > 1 ? QString::fromLocal8Bit(argv[1]) : QStringLiteral(LAYERLAB_SOURCE_DIR "/resources/demo");
    const QString device = argc > 2 ? QString::fromLocal8Bit(argv[2]) : QStringLiteral("cpu");
    const QString dtype = argc > 3 ? QString::fromLocal8Bit(argv[3]) : QStringLiteral("f32");
    const int toggles = argc > 4 ? std::atoi(argv[4]) : 8;

    MainWindow w;
    w.setInteractive(false);
    QElapsedTimer clock;
    clock.start();
    w.openModel(dir, device, dtype);
    runUntilIdle(w);
    auto* ws = w.workspace();
    if (!ws->hasModel()) {
        std::fprintf(stderr, "could not open %s\n", qPrintable(dir));
        return 1;
    }
    std::printf("model %s on %s (%s): opened in %.2f s, %lld layers\n", qPrintable(dir), qPrintable(device),
                qPrintable(dtype), seconds(clock), static_cast<long long>(ws->numLayers()));
    const auto& d = ws->dataSettings();
    std::printf("samples: quick %lld windows / %lld items per task, refined %lld / %lld\n",
                static_cast<long long>(std::max<int64_t>(2, d.evaluationWindows / 5)),
                static_cast<long long>(std::max<int64_t>(10, d.evaluationItems / 5)),
                static_cast<long long>(d.evaluationWindows), static_cast<long long>(d.evaluationItems));
    clock.restart();
    w.costPanel()->setAutoEvaluate(true); // evaluates the full model: the baselines
    runUntilIdle(w);
    std::printf("baselines (full model, both samples, inputs loaded): %.2f s\n\n", seconds(clock));

    const auto t = bench::timeToggles(w, toggles);
    std::printf("\nmedian: loss %.3f s, task accuracy %.3f s, refined %.3f s; longest GUI stall %lld ms\n",
                bench::median(t.loss), bench::median(t.tasks), bench::median(t.refined),
                static_cast<long long>(t.worstStallMs));
    return 0;
}
