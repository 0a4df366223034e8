#include "terminal_progress.h"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <unistd.h>

namespace layerlab::cli {

namespace {
std::atomic<int> gInterrupts{0};
CancelToken* gToken = nullptr;

void onInterrupt(int) {
    if (gInterrupts.fetch_add(1) >= 1) _exit(130);
    if (gToken) gToken->cancel();
}

std::string formatSeconds(double s) {
    char buf[32];
    if (s < 60)
        std::snprintf(buf, sizeof buf, "%.0fs", s);
    else if (s < 3600)
        std::snprintf(buf, sizeof buf, "%dm%02ds", int(s) / 60, int(s) % 60);
    else
        std::snprintf(buf, sizeof buf, "%dh%02dm", int(s) / 3600, (int(s) % 3600) / 60);
    return buf;
}
} // namespace

TerminalProgress::TerminalProgress(bool enabled) : enabled_(enabled), tty_(::isatty(2)) {
    gToken = &token_;
    std::signal(SIGINT, onInterrupt);
}

TerminalProgress::~TerminalProgress() {
    finishLine();
    std::signal(SIGINT, SIG_DFL);
    gToken = nullptr;
}

Progress TerminalProgress::progress() {
    return Progress([this](const ProgressInfo& info) { draw(info); }, token_);
}

void TerminalProgress::finishLine() {
    std::lock_guard lock(mutex_);
    if (lineOpen_) std::fputc('\n', stderr);
    lineOpen_ = false;
}

void TerminalProgress::draw(const ProgressInfo& info) {
    if (!enabled_) return;
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    const bool newStage = info.stage != stage_;
    if (newStage) {
        if (lineOpen_) std::fputc('\n', stderr);
        lineOpen_ = false;
        stage_ = info.stage;
        stageStart_ = now;
    }
    const bool last = info.total > 0 && info.done >= info.total;
    // Without a terminal, print a line per 10 s; with one, redraw at most 10 times a second.
    const auto gap = tty_ ? std::chrono::milliseconds(100) : std::chrono::milliseconds(10000);
    if (!newStage && !last && now - lastDraw_ < gap) return;
    lastDraw_ = now;
    const double elapsed = std::chrono::duration<double>(now - stageStart_).count();
    std::string line = info.stage;
    if (info.total > 0) {
        const double frac = static_cast<double>(info.done) / static_cast<double>(info.total);
        const int width = 30, filled = static_cast<int>(frac * width);
        line += " [" + std::string(filled, '#') + std::string(width - filled, '.') + "] ";
        line += std::to_string(info.done) + "/" + std::to_string(info.total);
        if (!info.unit.empty()) line += " " + info.unit;
        line += "  " + formatSeconds(elapsed);
        if (info.done > 0 && !last) line += ", " + formatSeconds(elapsed / frac - elapsed) + " left";
        if (!info.detail.empty()) line += "  " + info.detail;
    } else {
        line += " " + std::to_string(info.done) + (info.unit.empty() ? "" : " " + info.unit) + "  " +
                formatSeconds(elapsed);
    }
    if (tty_)
        std::fprintf(stderr, "\r\033[K%s", line.c_str());
    else
        std::fprintf(stderr, "%s\n", line.c_str());
    lineOpen_ = tty_;
    if (last && tty_) {
        std::fputc('\n', stderr);
        lineOpen_ = false;
    }
    std::fflush(stderr);
}

} // namespace layerlab::cli
