#include "layer_map/importance_job.h"

#include "common/error.h"
#include "eval/multiple_choice_eval.h"
#include "importance/importance_request.h"
#include "workspace/evaluation_inputs.h"

#include <algorithm>

namespace layerlab::ui {

namespace {

ScoreTable toTable(const ImportanceReport& r) {
    ScoreTable t;
    for (const auto& [metric, perUnit] : r.scores.scores)
        t.values[metric] = perUnit.byUnit;
    for (const auto& [metric, perUnit] : r.scores.stdErr)
        t.stdErr[metric] = perUnit.byUnit;
    if (r.settings.contains("angular_n")) t.angularN = r.settings["angular_n"].get<int64_t>();
    return t;
}

} // namespace

const std::vector<std::string>& knownMetrics() {
    return importanceMetricNames();
}

const std::vector<std::string>& valueFunctionNames() {
    static const std::vector<std::string> names = {"loss", "logit_l2", "kl", "task_loss"};
    return names;
}

bool usesValueFunction(const std::string& metric) {
    return metric == "drop_loss" || metric == "shapley" || metric == "present_absent";
}

void runImportanceStages(const Model& model, const std::vector<TokenWindow>& windows,
                         const std::vector<TokenWindow>& valueWindows, const ImportanceJobRequest& request,
                         const std::function<void(const ScoreTable&)>& onStage, const Progress& progress) {
    if (windows.empty()) throw Error("no calibration data: choose a calibration file in the side panel");
    ImportanceRequest base;
    base.units = request.units;
    base.batchSize = request.batchSize;
    base.angularN = request.angularN;
    base.shapley.targetStdErr = request.shapleyTargetStdErr;
    base.value = parseValueFunction(request.valueFunction);
    if (base.value == ValueFunction::TaskLoss) base.valueWindows = valueWindows;
    // One call for the residual-stream metrics (one forward pass), then one per other metric.
    std::vector<std::vector<std::string>> calls;
    std::vector<std::string> residual;
    for (const auto& m : request.metrics)
        if (isResidualMetric(m)) residual.push_back(m);
    if (!residual.empty()) calls.push_back(residual);
    for (const auto& m : request.metrics)
        if (!isResidualMetric(m)) calls.push_back({m});
    for (const auto& metrics : calls) {
        auto r = base;
        r.metrics = metrics;
        onStage(toTable(computeImportance(model, windows, r, progress)));
    }
}

std::vector<TokenWindow> taskLossWindows(const Tokenizer* tokenizer, const EvaluationInputs& inputs,
                                         int64_t items, int64_t maxLength) {
    if (inputs.tasks.empty())
        throw Error("the task_loss value function needs a multiple-choice task file (side panel, Tasks)");
    if (!tokenizer) throw Error(inputs.tasks.front().description.file, "needs the model's tokenizer");
    const auto& full = inputs.tasks.front();
    MultipleChoiceTask task;
    task.name = full.name;
    task.description = full.description;
    for (size_t i : sampleIndices(full.items.size(), static_cast<size_t>(items), 0))
        task.items.push_back(full.items[i]);
    return answerWindows(*tokenizer, task, maxLength);
}

} // namespace layerlab::ui
