#pragma once
// The cost panel's quick evaluation: perplexity on a sample of the calibration windows and
// accuracy on a sample of each task's items, first on a small sample (an answer within a second
// or two), then on a larger one.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/layer_mask.h"
#include "workspace/evaluation_inputs.h"

namespace layerlab::ui {

struct TaskScore {
    std::string task;
    double acc = 0, accNorm = 0;
    double accStderr = 0, accNormStderr = 0;
    int64_t items = 0;
};

struct QuickEvaluation {
    int level = 0;  // 0: quick, 1: refined
    LayerMask mask; // what was evaluated
    bool hasLoss = false;
    bool tasksPending = false; // the loss is in, the tasks (named, no scores yet) are still running
    double loss = 0, perplexity = 0;
    int64_t tokens = 0, windows = 0;
    std::vector<TaskScore> tasks;
};

struct QuickLevel {
    int64_t windows; // calibration windows
    int64_t items;   // items per task
};
constexpr int kQuickLevels = 2;
// Level 1 (refined) is the sample the data settings ask for; level 0 a fifth of it (at least 2
// windows and 10 items), for an answer within seconds after a toggle.
QuickLevel quickLevel(const DataSettings& settings, int level);

// Throws Error when the model cannot evaluate the inputs (no tokenizer for tasks), Cancelled.
// onLoss, when given and there are tasks, receives the result as soon as the loss is known (with
// tasksPending set), so that the loss can be shown without waiting for the tasks.
QuickEvaluation runQuickEvaluation(const Model& model, const Tokenizer* tokenizer,
                                   const EvaluationInputs& inputs, int level, const QuickLevel& sizes,
                                   const LayerMask& mask, const Progress& progress,
                                   const std::function<void(const QuickEvaluation&)>& onLoss = {});

} // namespace layerlab::ui
