#pragma once
// Every long operation takes a Progress: it reports how far the work got and carries the
// cancellation token. Cancelling is not an error: a cancelled job throws Cancelled, which the
// job boundary (CLI command, GUI job runner) turns into a "stopped" outcome.

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace layerlab {

struct ProgressInfo {
    std::string stage;  // what is happening, for people: "loading weights", "shapley"
    int64_t done = 0;   // units of work finished
    int64_t total = 0;  // 0 when unknown
    std::string unit;   // "tensors", "sequences", "forward passes", ...
    std::string detail; // a running figure worth showing, e.g. "loss 2.3456"; may be empty
};

using ProgressFn = std::function<void(const ProgressInfo&)>;

// Shared flag: copies observe the same cancellation. Thread-safe.
class CancelToken {
public:
    CancelToken() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
    void cancel() const { flag_->store(true, std::memory_order_relaxed); }
    bool cancelled() const { return flag_->load(std::memory_order_relaxed); }

private:
    std::shared_ptr<std::atomic<bool>> flag_;
};

class Cancelled : public std::exception {
public:
    const char* what() const noexcept override { return "cancelled"; }
};

class Progress {
public:
    Progress() = default; // reports nowhere, never cancelled
    Progress(ProgressFn fn, CancelToken token) : fn_(std::move(fn)), token_(std::move(token)) {}

    void report(std::string_view stage, int64_t done, int64_t total, std::string_view unit = {},
                std::string_view detail = {}) const {
        if (fn_) fn_(ProgressInfo{std::string(stage), done, total, std::string(unit), std::string(detail)});
    }
    bool cancelled() const { return token_.cancelled(); }
    // Call between units of work; throws Cancelled when the user asked to stop.
    void checkCancelled() const {
        if (token_.cancelled()) throw Cancelled();
    }
    const CancelToken& token() const { return token_; }

private:
    ProgressFn fn_;
    CancelToken token_;
};

} // namespace layerlab
