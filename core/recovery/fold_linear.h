#pragma once
// Linear block replacement that folds into a plain checkpoint (ReplaceMe, arXiv 2505.02819).
// For each run of removed whole blocks i..j, a linear map M [H, H] of the FFN output f of block
// i - 1 (down_proj's output, without its bias) is fitted by least squares on the calibration
// tokens, with every unit on, so that
//     h_mid + b + f M  ~  the residual stream after block j
// (h_mid the residual after block i - 1's attention, b down_proj's bias, if any). One forward pass
// accumulates F^T F and F^T (Y - h_mid - b) for every run (float32 per batch, float64 across
// batches). Several runs are each fitted on the model with every unit on. No new parameters: M is block i -
// 1's down_proj corrected in place, W' = M^T W, held as a full-rank LoRA correction of that projection (down
// = W^T, up = M - I) so that every command applies it and `export --format hf` folds it into down_proj,
// giving a checkpoint of the source's architecture with the run's blocks dropped.

#include <cstdint>
#include <utility>
#include <vector>

#include "common/progress.h"
#include "data/dataset.h"
#include "model/adapter.h"
#include "model/model.h"
#include "recovery/adapter_fit.h"

namespace layerlab {

struct FoldLinearOptions {
    // Ridge strength relative to the mean square of f: lambda = ridge x trace(F^T F) / H, added to
    // F^T F (which sums over the n calibration rows).
    double ridge = 1e-4;
    int64_t batchSize = 8;
    // As for fitAdapters: a map that makes the calibration loss worse than removal alone is left
    // out (listed in the report as the first block of its run).
    bool guard = true;
};

// The runs of consecutive removed blocks, as (first, last). fitFoldLinear also refuses a run whose
// preceding FFN is not a full one (Nemotron-NAS sources). Throws Error when the mask removes
// a lone attention or FFN sub-layer (there is no block output to reproduce) or a run starts at
// block 0 (there is no FFN before it to fold the map into).
std::vector<std::pair<int64_t, int64_t>> removedBlockRuns(const LayerMask& removed);

// M from accumulated statistics (exposed for tests): n rows, F^T F and F^T T in float64.
torch::Tensor foldLinearMap(double n, const torch::Tensor& ftf, const torch::Tensor& ftt, double ridge);

// Fits the maps for every run the mask removes. The model's own adapters are set aside while
// fitting and restored after; install the result with setAdapters. Cancellable.
AdapterSet fitFoldLinear(Model& model, const std::vector<TokenWindow>& windows, const LayerMask& removed,
                         const FoldLinearOptions& options, const Progress& progress = {},
                         AdapterFitReport* report = nullptr);

} // namespace layerlab
