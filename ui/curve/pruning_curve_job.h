#pragma once
// The pruning curve as a job: for each metric, its scores (from the layer map when computed, else
// through the core's computeImportance), then for k = 0 .. maxUnits the k least important units
// removed (core removeLeastImportant) and evaluated on the refined quick-evaluation sample.
// "angular" removes the best run of k consecutive blocks instead (the angular distance for n = k).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "curve/pruning_curve_model.h"
#include "workspace/evaluation_inputs.h"
#include "workspace/score_table.h"

namespace layerlab::ui {

struct PruningCurveRequest {
    std::vector<std::string> metrics; // score-table keys or core metric names
    Unit unit = Unit::Block;
    int64_t maxUnits = 4;
    bool tasks = true; // evaluate the task files too (slower)
    int64_t batchSize = 8;
};

// onScores: scores computed here (for the layer map); onPoint: each evaluated point, as it comes.
// Both run on the calling thread. Throws Error (unknown metric, angular at another granularity,
// k beyond the layers), Cancelled.
void runPruningCurve(const Model& model, const Tokenizer* tokenizer, const EvaluationInputs& inputs,
                     const DataSettings& settings, const ScoreTable& known,
                     const PruningCurveRequest& request,
                     const std::function<void(const ScoreTable&)>& onScores,
                     const std::function<void(const PruningCurvePoint&)>& onPoint, const Progress& progress);

} // namespace layerlab::ui
