#pragma once
// Importance metrics per unit (block, attention sub-layer, FFN sub-layer) of every layer.
// Convention: higher = more important. Every metric runs on the model's device, reports progress
// and can be cancelled between forward passes.
//
// This file: the shared result struct, batching, the residual-stream metrics (cosine, update
// norms, angular distance: one forward pass) and drop-one loss (one pass per unit from a cached
// residual). Taylor and Shapley live in taylor.h and shapley.h.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/progress.h"
#include "data/dataset.h"
#include "importance/value_function.h"
#include "model/layer_mask.h"
#include "model/model.h"

namespace layerlab {

// One score per layer for each granularity, indexed by Unit; a vector is empty where the metric
// does not apply (e.g. angular distance is per block only).
struct UnitScores {
    std::array<std::vector<double>, 3> byUnit;
    std::vector<double>& operator[](Unit u) { return byUnit[static_cast<size_t>(u)]; }
    const std::vector<double>& operator[](Unit u) const { return byUnit[static_cast<size_t>(u)]; }
};

struct ImportanceScores {
    std::map<std::string, UnitScores> scores; // metric name -> scores
    std::map<std::string, UnitScores> stdErr; // Monte Carlo metrics only (shapley)
    double fullLoss = 0;                      // the unmasked model's loss, where computed
    int64_t positions = 0;                    // token positions averaged over (residual metrics)
    int64_t scoredTokens = 0;                 // predicted positions in the losses
    double forwardPasses = 0;                 // done (fractional where passes restart from a middle layer)
    double naiveForwardPasses = 0;            // what full passes from the embedding would have needed
};

struct ImportanceOptions {
    int64_t batchSize = 8;
    // For drop-one and Shapley-style metrics: what a masked model is worth. Scores other than
    // the loss are stored under the metric name + "_" + the function's name ("drop_kl", ...).
    ValueFunction value = ValueFunction::Loss;
};
// "drop_loss" + value function: drop_loss, drop_logit_l2, drop_kl; other bases get a suffix
// unless the function is the loss (shapley, shapley_kl, ...).
std::string metricName(const std::string& base, ValueFunction value);

// Windows grouped by length (no padding) and stacked, on the model's device.
struct ImportanceBatch {
    torch::Tensor ids;     // [B, T] int64
    torch::Tensor targets; // [B, T] bool, see targetMask()
};
std::vector<ImportanceBatch>
makeImportanceBatches(const Model& model, const std::vector<TokenWindow>& windows, int64_t batchSize);

// Residual-stream metrics, all from one unmasked forward pass, averaged over every token
// position of every window (context tokens included):
//   cosine        1 - cos(h_in, h_out)
//   l1_update     ||h_out - h_in||_1          l2_update     ||h_out - h_in||_2
//   rel_l1_update ||h_out - h_in||_1 / ||h_in||_1,  rel_l2_update likewise with L2
// with (h_in, h_out) = (block input, block output) for block, (block input, after attention)
// for attn, (after attention, block output) for ffn.
// angularN > 0 adds metric "angular" (block only): entry l (l = 0..L-n) is the mean of
// arccos(cos(h_l, h_{l+n})) / pi, h_l the residual before layer l, h_L the last block's output
// (before the final norm); the vector then has L - n + 1 entries.
struct ResidualMetricsOptions : ImportanceOptions {
    int64_t angularN = 0;
};
struct ResidualMetricsResult {
    ImportanceScores scores;
    int64_t angularN = 0;
    int64_t bestAngularStart = -1; // the l minimising the angular distance: the n blocks to cut
};
ResidualMetricsResult residualMetrics(const Model& model, const std::vector<TokenWindow>& windows,
                                      const ResidualMetricsOptions& options, const Progress& progress = {});

// Metric "drop_loss": loss with only that unit removed minus the full model's loss, for every
// unit of the requested granularities (under another value function: its value with the unit
// removed minus the full model's, which is 0 for the distances). Block inputs of the full pass are cached per
// batch; each unit's pass restarts at its layer.
ImportanceScores dropLoss(const Model& model, const std::vector<TokenWindow>& windows,
                          const std::vector<Unit>& units, const ImportanceOptions& options,
                          const Progress& progress = {});

} // namespace layerlab
