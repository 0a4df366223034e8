#pragma once
// Closed-form adapters for removed units, fitted on calibration tokens with every unit still on:
// one forward pass gathers, for all requested units at once, the sums and the products X^T X and
// X^T Y (X the input the unit saw, Y its update to the residual stream; float32 per batch,
// float64 across batches), never the activations themselves.
//   bias     the mean update (mean of Y)
//   lowrank  ridge least squares Y ~ X W + b, truncated to rank r through the SVD of the fitted
//            values (reduced-rank regression); r = hidden size gives the plain least squares

#include <cstdint>
#include <functional>
#include <vector>

#include "common/progress.h"
#include "data/dataset.h"
#include "importance/importance.h"
#include "model/adapter.h"
#include "model/model.h"

namespace layerlab {

enum class AdapterMethod { Bias, LowRank };

struct AdapterFitOptions {
    AdapterMethod method = AdapterMethod::Bias;
    int64_t rank = 16;
    // Ridge strength relative to the mean variance of X: lambda = ridge x trace(Cov X) / H.
    double ridge = 1e-4;
    int64_t batchSize = 8;
    // Fitted one unit at a time, adapters can work against each other when several units are
    // removed. With the guard on, the calibration loss is measured with all adapters; if it is
    // worse than removal alone, only the adapters that help on their own are kept, and if even
    // those together do worse, the best single one (or none): never worse than removal alone.
    bool guard = true;
};

struct AdapterFitReport {
    double removedLoss = 0;       // calibration loss with the units removed, no adapters (guard only)
    double recoveredLoss = 0;     // with the adapters returned (guard only)
    std::vector<UnitRef> dropped; // fitted but left out by the guard
};

// The units to fit: every unit the mask removes (a removed block gets a block adapter; its
// sub-layers none). The model's own adapters are set aside while fitting and restored after
// (also on an error or cancellation); install the result with setAdapters.
// Throws Error for bad options or an empty mask; Cancelled when asked to stop.
// Puts a model's adapters back as they were when it was made, however the scope ends.
class AdapterRestore {
public:
    explicit AdapterRestore(Model& model) : model_(model), saved_(model.adapters()) {}
    ~AdapterRestore();
    AdapterRestore(const AdapterRestore&) = delete;
    AdapterRestore& operator=(const AdapterRestore&) = delete;

private:
    Model& model_;
    AdapterSet saved_;
};

AdapterSet fitAdapters(Model& model, const std::vector<TokenWindow>& windows, const LayerMask& removed,
                       const AdapterFitOptions& options, const Progress& progress = {},
                       AdapterFitReport* report = nullptr);

// The mean next-token loss of the batches under the mask, with the model's adapters.
double calibrationLoss(const Model& model, const std::vector<ImportanceBatch>& batches, const LayerMask& mask,
                       const Progress& progress);

// The guard over `count` fitted candidates: lossWith(indices) installs those and measures the
// calibration loss; `none` is the loss of removal alone. Keeps all if that is no worse than none,
// else the ones that help on their own (or the best single one), else none.
struct GuardResult {
    std::vector<size_t> kept;
    double loss = 0;
};
GuardResult guardCandidates(size_t count, double none,
                            const std::function<double(const std::vector<size_t>&)>& lossWith);

// The fit from accumulated statistics (exposed for tests): n rows, sums of x and y, X^T X, X^T Y
// (float64). Returns bias (and down/up for LowRank) in float32.
Adapter fitFromStatistics(double n, const torch::Tensor& sumX, const torch::Tensor& sumY,
                          const torch::Tensor& xtx, const torch::Tensor& xty,
                          const AdapterFitOptions& options);

} // namespace layerlab
