// A scripted workbench session on a real-sized model, as a user would run it: the real window on
// the offscreen platform opens the model, computes cosine, drop_loss and block Shapley scores,
// toggles units with Auto-evaluate on, fits a low-rank recovery, runs a pruning curve, cancels two
// long jobs, exports, and saves a screenshot. For each step: wall time, the longest stall of the GUI
// thread (a 10 ms timer), and the peak GPU memory against the size of the weights.
//
// Usage: bench_workbench_session MODEL_DIR [DEVICE] [DTYPE] [OUT_DIR]
//   defaults: resources/demo cpu f32 /tmp/layerlab-session; the export and the screenshot
//   (workbench_session.png) go to OUT_DIR. STEPS (see main) runs some steps only; TOGGLES sets
//   the number of toggles (8). Results go to bench/results/workbench_*.md.

#include "common/gpu_allocator.h"
#include "common/host_allocator.h"
#include "cost/cost_panel.h"
#include "export/report_export.h"
#include "report/report_controller.h"
#include "workbench_probe.h"

#include <QApplication>
#include <QDir>
#include <QDirIterator>
#include <QSettings>
#include <QStringList>
#include <QTabWidget>

#include <cstdlib>
#include <functional>
#include <string>

using namespace layerlab;
using namespace layerlab::ui;
using layerlab::bench::runUntilIdle;
using layerlab::bench::seconds;

namespace {

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

// Peak bytes held by LibTorch's CUDA allocator since the last reset; -1 off the GPU.
double peakGpuGiB(const QString& device) {
    if (!device.startsWith(QStringLiteral("cuda"))) return -1;
    return static_cast<double>(gpuMemoryPeaks(0).allocated) / kGiB;
}

// Only once the model is on the GPU: before its first allocation the allocator has no device.
void resetPeakGpu(const QString& device) {
    if (device.startsWith(QStringLiteral("cuda"))) resetGpuMemoryPeaks(0);
}

double safetensorsGiB(const QString& dir) {
    double bytes = 0;
    QDirIterator it(dir, {QStringLiteral("*.safetensors")}, QDir::Files);
    while (it.hasNext())
        bytes += static_cast<double>(QFileInfo(it.next()).size());
    return bytes / kGiB;
}

} // namespace

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
    const QString out = argc > 4 ? QString::fromLocal8Bit(argv[4]) : QStringLiteral("/tmp/layerlab-session");
    QDir().mkpath(out);

    MainWindow w;
    w.setInteractive(false);
    w.resize(initialWindowSize({1600, 960}));
    w.show();
    QString lastError;
    QObject::connect(&w, &MainWindow::errorReported, [&](const QString& title, const QString& text) {
        lastError = title + QStringLiteral(": ") + text;
        std::fprintf(stderr, "error: %s\n", qPrintable(lastError));
    });
    int progressReports = 0;
    QObject::connect(w.jobs(), &JobRunner::progressed, [&] { ++progressReports; });

    const double weights = safetensorsGiB(dir);
    std::printf("model %s on %s (%s), weights %.2f GiB\n\n", qPrintable(dir), qPrintable(device),
                qPrintable(dtype), weights);
    std::printf("| step | wall time | longest GUI stall | progress reports | peak GPU memory |\n");
    std::printf("|---|---|---|---|---|\n");
    bench::StallMeter meter;
    qint64 worstStall = 0;
    double worstPeak = 0;
    bool failed = false;
    // One step: starts its work, waits for the job queue to run empty, prints one table row.
    auto step = [&](const char* name, const std::function<void()>& start) {
        lastError.clear();
        progressReports = 0;
        if (w.workspace()->hasModel()) resetPeakGpu(device);
        QElapsedTimer clock;
        clock.start();
        meter.start();
        start();
        runUntilIdle(w);
        const qint64 stall = meter.stop();
        const double peak = w.workspace()->hasModel() ? peakGpuGiB(device) : -1;
        worstStall = std::max(worstStall, stall);
        worstPeak = std::max(worstPeak, peak);
        std::printf(
            "| %s | %.2f s | %lld ms | %d | %s |\n", name, seconds(clock), static_cast<long long>(stall),
            progressReports,
            peak < 0 ? "-"
                     : qPrintable(QString::asprintf("%.2f GiB (%.2fx the weights)", peak, peak / weights)));
        std::fflush(stdout);
        if (!lastError.isEmpty()) failed = true;
    };

    // STEPS=scores,shapley,toggles,recovery,curve,cancel,export,report picks some (default: all).
    const QStringList steps = qEnvironmentVariable("STEPS").split(QLatin1Char(','), Qt::SkipEmptyParts);
    auto wanted = [&](const char* name) { return steps.isEmpty() || steps.contains(QLatin1String(name)); };

    step("open the model", [&] { w.openModel(dir, device, dtype); });
    if (!w.workspace()->hasModel()) return 1;
    step("baselines (Auto-evaluate on)", [&] { w.costPanel()->setAutoEvaluate(true); });
    if (wanted("scores")) {
        step("importance: cosine (blocks, attention, FFN)", [&] { w.computeImportance({{"cosine"}, 1, 8}); });
        step("importance: drop_loss (blocks, attention, FFN)", [&] {
            w.computeImportance({{"drop_loss"}, 1, 8});
        });
    }
    if (wanted("shapley"))
        step("importance: shapley (blocks)", [&] {
            w.computeImportance({{"shapley"}, 1, 8, "loss", {Unit::Block}});
        });
    if (wanted("toggles")) {
        std::printf("\nToggles with Auto-evaluate on:\n\n");
        resetPeakGpu(device);
        const auto toggles =
            bench::timeToggles(w, std::getenv("TOGGLES") ? std::atoi(std::getenv("TOGGLES")) : 8);
        worstStall = std::max(worstStall, toggles.worstStallMs);
        worstPeak = std::max(worstPeak, peakGpuGiB(device));
        std::printf("\nmedian: loss %.3f s, task accuracy %.3f s, refined %.3f s\n\n",
                    bench::median(toggles.loss), bench::median(toggles.tasks),
                    bench::median(toggles.refined));
        std::printf("| step | wall time | longest GUI stall | progress reports | peak GPU memory |\n");
        std::printf("|---|---|---|---|---|\n");
    }
    if (wanted("recovery"))
        step("recovery: lowrank:64 for the removed units", [&] {
            w.recover({RecoveryMethod::LowRank, 64, 1e-4, 8});
        });
    if (wanted("curve")) {
        PruningCurveRequest curve;
        curve.metrics = {"cosine", "drop_loss"};
        curve.maxUnits = 8;
        step("pruning curve: cosine, drop_loss, blocks 0-8", [&] { w.runPruningCurve(curve); });
    }
    // Cancel latency: a long job is cancelled one second after its first progress report; the time
    // from Cancel until the worker has stopped (the job reported as cancelled).
    auto cancelLatency = [&](const char* name, const std::function<void()>& start) {
        QElapsedTimer sinceCancel;
        QTimer cancelSoon;
        cancelSoon.setSingleShot(true);
        cancelSoon.setInterval(1000);
        QObject::connect(&cancelSoon, &QTimer::timeout, [&] {
            sinceCancel.start();
            w.jobs()->cancelAll();
        });
        auto armed = QObject::connect(w.jobs(), &JobRunner::progressed, [&] {
            if (!cancelSoon.isActive() && !sinceCancel.isValid()) cancelSoon.start();
        });
        double latency = -1;
        auto done = QObject::connect(w.jobs(), &JobRunner::cancelled, [&] {
            if (sinceCancel.isValid()) latency = seconds(sinceCancel);
        });
        meter.start();
        start();
        runUntilIdle(w);
        const qint64 stall = meter.stop();
        cancelSoon.stop();
        QObject::disconnect(armed);
        QObject::disconnect(done);
        if (latency < 0) {
            std::printf("| cancel %s | finished before Cancel | | | |\n", name);
            failed = true;
            return;
        }
        std::printf("| cancel %s | %.3f s after Cancel | %lld ms | | |\n", name, latency,
                    static_cast<long long>(stall));
        worstStall = std::max(worstStall, stall);
    };
    if (wanted("cancel")) {
        // All 400 permutations (no standard-error target): minutes of work, cancelled after one second.
        cancelLatency("shapley (attention)", [&] {
            w.computeImportance({{"shapley"}, 1, 8, "loss", {Unit::Attention}, 0.0});
        });
        PruningCurveRequest longCurve;
        longCurve.metrics = {"drop_loss"};
        longCurve.unit = Unit::Ffn;
        longCurve.maxUnits = 16;
        cancelLatency("pruning curve (drop_loss, FFN)", [&] { w.runPruningCurve(longCurve); });
    }
    if (wanted("export")) {
        // Export: a plain checkpoint with fewer layers, what most users take to other tools: a run of
        // four blocks removed and bridged by a fold-linear map, which --format hf folds into down_proj.
        step("remove 4 blocks, fold-linear recovery", [&] {
            w.removeAdapters();
            const int64_t L = w.workspace()->numLayers();
            LayerMask blocks(L);
            for (int64_t b = std::max<int64_t>(1, L * 2 / 3); b < std::min(L, L * 2 / 3 + 4); ++b)
                blocks.remove(Unit::Block, b);
            w.workspace()->setMask(blocks);
            w.recover({RecoveryMethod::FoldLinear, 0, 1e-4, 8});
        });
        ExportSettings exportTo;
        exportTo.out = QDir(out).filePath(QStringLiteral("export"));
        exportTo.format = QStringLiteral("hf");
        exportTo.force = true;
        step("export (hf, fold-linear map folded in)", [&] { w.exportModel(exportTo); });
    }

    if (wanted("report"))
        step("report (HTML and PDF)", [&] {
            // The charts are drawn after the job queue is idle, one per event-loop step.
            QEventLoop loop;
            QObject::connect(w.reportController(), &ReportController::written, &loop, &QEventLoop::quit);
            QObject::connect(w.reportController(), &ReportController::errorReported, &loop,
                             &QEventLoop::quit);
            w.exportReport(QDir(out).filePath(QStringLiteral("report.html")));
            loop.exec();
        });

    w.tabs()->setCurrentIndex(0);
    QCoreApplication::processEvents();
    const QString shot = QDir(out).filePath(QStringLiteral("workbench_session.png"));
    const QString shotError = saveWidgetImage(&w, shot);
    std::printf(
        "\nlongest GUI stall over the session: %lld ms; peak GPU memory %.2f GiB for %.2f GiB of weights "
        "(%.2fx)\nscreenshot: %s\n",
        static_cast<long long>(worstStall), worstPeak, weights, weights > 0 ? worstPeak / weights : 0.0,
        qPrintable(shotError.isEmpty() ? shot : shotError));
    return failed || !shotError.isEmpty() ? 1 : 0;
}
