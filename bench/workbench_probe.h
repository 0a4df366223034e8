#pragma once
// What the workbench benchmarks measure on the real window (offscreen): how long the GUI thread
// stalls while jobs run, and how long a toggle takes to show its loss, its task accuracy and its
// refined numbers with Auto-evaluate on. Shared by bench_toggle and bench_workbench_session.

#include "cost/quick_evaluation.h"
#include "jobs/job_runner.h"
#include "window/main_window.h"
#include "workspace/workspace.h"

#include <QElapsedTimer>
#include <QEventLoop>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <vector>

namespace layerlab::bench {

inline void runUntilIdle(ui::MainWindow& w) {
    QEventLoop loop;
    QObject::connect(w.jobs(), &ui::JobRunner::idle, &loop, &QEventLoop::quit);
    if (w.jobs()->busy()) loop.exec();
}

inline double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

inline double seconds(const QElapsedTimer& t) {
    return static_cast<double>(t.nsecsElapsed()) / 1e9;
}

// The longest gap between ticks of a 10 ms timer on the GUI thread while it runs: what a user
// feels as a frozen window.
class StallMeter {
public:
    StallMeter() {
        timer_.setInterval(10);
        QObject::connect(&timer_, &QTimer::timeout, [this] { worst_ = std::max(worst_, tick_.restart()); });
    }
    void start() {
        worst_ = 0;
        tick_.start();
        timer_.start();
    }
    qint64 stop() {
        timer_.stop();
        return worst_;
    }

private:
    QTimer timer_;
    QElapsedTimer tick_;
    qint64 worst_ = 0;
};

struct ToggleTimes {
    std::vector<double> loss, tasks, refined; // seconds from the toggle, one per toggle
    qint64 worstStallMs = 0;
};

// Switches off one more attention sub-layer `toggles` times, from the middle outwards (the usual
// first candidates), with Auto-evaluate on, and prints one Markdown table row per toggle.
inline ToggleTimes timeToggles(ui::MainWindow& w, int toggles) {
    auto* ws = w.workspace();
    ToggleTimes out;
    double loss = -1, tasks = -1, refined = -1;
    QElapsedTimer clock;
    LayerMask asked;
    auto connection = QObject::connect(ws, &ui::Workspace::evaluationChanged, [&] {
        const auto& e = ws->latest();
        if (!e || !(e->mask == asked)) return;
        const double t = seconds(clock);
        if (e->hasLoss && loss < 0) loss = t;
        if (!e->tasksPending && tasks < 0) tasks = t;
        if (e->level + 1 == ui::kQuickLevels && !e->tasksPending && refined < 0) refined = t;
    });
    std::printf("| toggle | removed | loss shown | task accuracy | refined | longest GUI stall |\n");
    std::printf("|---|---|---|---|---|---|\n");
    StallMeter meter;
    const int64_t L = ws->numLayers();
    LayerMask mask = ws->mask();
    for (int i = 0; i < toggles; ++i) {
        const int64_t layer = (L / 2 + (i % 2 ? -1 : 1) * ((i + 1) / 2)) % L;
        mask.remove(Unit::Attention, layer);
        asked = mask;
        loss = tasks = refined = -1;
        meter.start();
        clock.restart();
        ws->setMask(mask);
        runUntilIdle(w);
        const qint64 stall = meter.stop();
        std::printf("| %d | %s | %.3f s | %.3f s | %.3f s | %lld ms |\n", i + 1, mask.toSpec().c_str(), loss,
                    tasks, refined, static_cast<long long>(stall));
        std::fflush(stdout);
        out.loss.push_back(loss);
        out.tasks.push_back(tasks);
        out.refined.push_back(refined);
        out.worstStallMs = std::max(out.worstStallMs, stall);
    }
    QObject::disconnect(connection);
    return out;
}

} // namespace layerlab::bench
