#pragma once
// The layer map's "Compute importance": the chosen metrics through the core's computeImportance,
// one call per metric (the residual-stream metrics share one call and one pass), each call's
// scores handed out as soon as it is done so the map fills while the job runs.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/progress.h"
#include "data/dataset.h"
#include "model/layer_mask.h"
#include "workspace/score_table.h"

namespace layerlab {
class Model;
class Tokenizer;
} // namespace layerlab

namespace layerlab::ui {

struct EvaluationInputs;

struct ImportanceJobRequest {
    std::vector<std::string> metrics; // names from the core's importanceMetricNames()
    int64_t angularN = 1;
    int64_t batchSize = 8;
    // What drop_loss, shapley and present_absent measure a masked model by: "loss", "logit_l2",
    // "kl" or "task_loss" (the loss on the right answers of the first task file). Scores of the
    // other functions are stored under the core's names (drop_kl, shapley_logit_l2, ...).
    std::string valueFunction = "loss";
    std::vector<Unit> units = {Unit::Block, Unit::Attention, Unit::Ffn};
    // Monte Carlo Shapley (more than 12 units) stops once every unit's standard error is at most
    // this (in loss units), at the latest after 400 permutations: 32 blocks of a 7B model then take
    // seconds, not the minutes all 400 permutations would.
    double shapleyTargetStdErr = 0.005;
};

// The core's metric names, in the layer map's order (a copy that needs no torch headers).
const std::vector<std::string>& knownMetrics();
const std::vector<std::string>& valueFunctionNames(); // loss, logit_l2, kl, task_loss
// Whether the metric depends on the value function.
bool usesValueFunction(const std::string& metric);

// valueWindows: the task's answer windows for task_loss (see taskLossWindows), else ignored.
// onStage runs on the calling thread after each core call.
void runImportanceStages(const Model& model, const std::vector<TokenWindow>& windows,
                         const std::vector<TokenWindow>& valueWindows, const ImportanceJobRequest& request,
                         const std::function<void(const ScoreTable&)>& onStage, const Progress& progress);

// The answer windows of the first task of the inputs, on the same seeded item sample as the
// refined quick evaluation (`items` items), at most maxLength tokens each. Throws Error when no
// task file is chosen.
std::vector<TokenWindow> taskLossWindows(const Tokenizer* tokenizer, const EvaluationInputs& inputs,
                                         int64_t items, int64_t maxLength);

} // namespace layerlab::ui
