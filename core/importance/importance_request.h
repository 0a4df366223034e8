#pragma once
// Several importance metrics in one call, by name, as the CLI and the GUI ask for them: the
// residual-stream metrics share one pass, the others run one after another.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "importance/importance.h"
#include "importance/present_absent.h"
#include "importance/shapley.h"

namespace layerlab {

// cosine, angular, l1_update, l2_update, rel_l1_update, rel_l2_update, drop_loss, taylor,
// shapley, present_absent
const std::vector<std::string>& importanceMetricNames();
bool isResidualMetric(const std::string& name);
// Throws Error naming the first metric that is not in importanceMetricNames() and listing those.
void checkImportanceMetrics(const std::vector<std::string>& metrics);
// The metric that computes the scores stored under `scoreName` (see metricName): the name itself
// for a metric, drop_loss for drop_kl, shapley for shapley_task_loss, ... Throws Error for any
// other name, listing the valid ones.
std::string metricOfScores(const std::string& scoreName);

enum class ShapleyEstimator { Permutation, PresentAbsent, Both };

struct ImportanceRequest {
    std::vector<std::string> metrics = {"cosine"};
    std::vector<Unit> units = {Unit::Block, Unit::Attention, Unit::Ffn};
    int64_t batchSize = 8;
    int64_t angularN = 1;
    // drop_loss, shapley and present_absent: the value function, and the windows it is measured
    // on when they differ from the calibration windows (a task's answers for TaskLoss).
    ValueFunction value = ValueFunction::Loss;
    std::vector<TokenWindow> valueWindows;
    // "shapley": permutation sampling, the present/absent estimate, or both side by side.
    ShapleyEstimator estimator = ShapleyEstimator::Permutation;
    ShapleyOptions shapley;             // sampling settings; unit and batch size are set per call
    PresentAbsentOptions presentAbsent; // likewise
};

struct ImportanceReport {
    ImportanceScores scores;
    nlohmann::ordered_json settings; // what each metric did (passes, samples, best angular start...)
    double seconds = 0;              // computation only
};

// Throws Error for an unknown metric; Cancelled when asked to stop.
ImportanceReport computeImportance(const Model& model, const std::vector<TokenWindow>& windows,
                                   const ImportanceRequest& request, const Progress& progress = {});

} // namespace layerlab
