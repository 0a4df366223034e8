#pragma once
// Draws core progress reports as one line on stderr (bar, counts, rate, ETA), throttled so a
// fast loop does not flood the terminal. Ctrl-C cancels the running operation through the token;
// a second Ctrl-C ends the program at once.

#include <chrono>
#include <mutex>
#include <string>

#include "common/progress.h"

namespace layerlab::cli {

class TerminalProgress {
public:
    explicit TerminalProgress(bool enabled);
    ~TerminalProgress();
    Progress progress();
    void finishLine(); // ends the current bar line, if any

private:
    void draw(const ProgressInfo& info);

    bool enabled_;
    bool tty_;
    CancelToken token_;
    std::mutex mutex_;
    std::string stage_;
    std::chrono::steady_clock::time_point stageStart_, lastDraw_;
    bool lineOpen_ = false;
};

} // namespace layerlab::cli
