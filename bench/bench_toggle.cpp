// Toggle-to-number latency of the workbench: the real window (offscreen), Auto-evaluate on, one
// unit toggled at a time; for each toggle, the time until the cost panel has the new loss, the
// quick task accuracy, and the refined numbers, and the longest stall of the GUI thread (a 10 ms
// timer). Usage: bench_toggle [MODEL_DIR] [DEVICE] [DTYPE] [TOGGLES]
//   defaults: resources/demo cpu f32 8; results go to bench/results/toggle_*.md.

#include "common/host_allocator.h"
#include "cost/cost_panel.h"
#include "jobs/job_runner.h"
#include "window/main_window.h"
#include "workspace/workspace.h"

#include <QApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

using namespace layerlab;
using namespace layerlab::ui;

namespace {

void runUntilIdle(MainWindow& w) {
    QEventLoop loop;
    QObject::connect(w.jobs(), &JobRunner::idle, &loop, &QEventLoop::quit);
    if (w.jobs()->busy()) loop.exec();
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

} // namespace

int main(int argc, char** argv) {
    keepFreedHostMemory(); // as the workbench does
    if (!std::getenv("QT_QPA_PLATFORM")) setenv("QT_QPA_PLATFORM", "offscreen", 1);
    QApplication app(argc, argv);
    QApplication::setOrganizationName(QStringLiteral("LayerLab-bench"));
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
                qPrintable(dtype), static_cast<double>(clock.elapsed()) / 1000.0,
                static_cast<long long>(ws->numLayers()));
    const auto& d = ws->dataSettings();
    std::printf("samples: quick %lld windows / %lld items per task, refined %lld / %lld\n",
                static_cast<long long>(std::max<int64_t>(2, d.evaluationWindows / 5)),
                static_cast<long long>(std::max<int64_t>(10, d.evaluationItems / 5)),
                static_cast<long long>(d.evaluationWindows), static_cast<long long>(d.evaluationItems));
    clock.restart();
    w.costPanel()->setAutoEvaluate(true); // evaluates the full model: the baselines
    runUntilIdle(w);
    std::printf("baselines (full model, both samples, inputs loaded): %.2f s\n\n",
                static_cast<double>(clock.elapsed()) / 1000.0);

    // Stall meter: the longest gap between ticks of a 10 ms timer on the GUI thread.
    QElapsedTimer tick;
    qint64 stall = 0;
    QTimer meter;
    meter.setInterval(10);
    QObject::connect(&meter, &QTimer::timeout, [&] { stall = std::max(stall, tick.restart()); });

    double loss = -1, tasks = -1, refined = -1;
    LayerMask asked;
    QObject::connect(ws, &Workspace::evaluationChanged, [&] {
        const auto& e = ws->latest();
        if (!e || !(e->mask == asked)) return;
        const double t = static_cast<double>(clock.nsecsElapsed()) / 1e9;
        if (e->hasLoss && loss < 0) loss = t;
        if (!e->tasksPending && tasks < 0) tasks = t;
        if (e->level + 1 == kQuickLevels && !e->tasksPending && refined < 0) refined = t;
    });

    std::printf("| toggle | removed | loss shown | task accuracy | refined | longest GUI stall |\n");
    std::printf("|---|---|---|---|---|---|\n");
    std::vector<double> losses, taskTimes, refinedTimes;
    qint64 worstStall = 0;
    const int64_t L = ws->numLayers();
    LayerMask mask(L);
    for (int i = 0; i < toggles; ++i) {
        // Attention sub-layers from the middle outwards, the usual first candidates.
        const int64_t layer = (L / 2 + (i % 2 ? -1 : 1) * ((i + 1) / 2)) % L;
        mask.remove(Unit::Attention, layer);
        asked = mask;
        loss = tasks = refined = -1;
        stall = 0;
        tick.start();
        meter.start();
        clock.restart();
        ws->setMask(mask);
        runUntilIdle(w);
        meter.stop();
        std::printf("| %d | %s | %.3f s | %.3f s | %.3f s | %lld ms |\n", i + 1, mask.toSpec().c_str(), loss,
                    tasks, refined, static_cast<long long>(stall));
        losses.push_back(loss);
        taskTimes.push_back(tasks);
        refinedTimes.push_back(refined);
        worstStall = std::max(worstStall, stall);
    }
    std::printf("\nmedian: loss %.3f s, task accuracy %.3f s, refined %.3f s; longest GUI stall %lld ms\n",
                median(losses), median(taskTimes), median(refinedTimes), static_cast<long long>(worstStall));
    return 0;
}
