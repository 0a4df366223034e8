#pragma once
// Learned adapters: the stand-ins of adapter_fit (a bias or a low-rank map per removed unit) and
// optionally LoRA corrections of the kept projections, trained with AdamW on the next-token loss
// of calibration text while the units stay removed. Stand-ins start from the closed-form fit by
// default, so training begins where fitting ends.

#include <cstdint>
#include <functional>
#include <vector>

#include "common/progress.h"
#include "data/dataset.h"
#include "model/adapter.h"
#include "model/model.h"
#include "recovery/adapter_fit.h"

namespace layerlab {

struct AdapterTrainingStep {
    int64_t step = 0;   // 1-based
    int64_t steps = 0;  // planned
    double loss = 0;    // mean next-token loss of this step's batch, before the update
    int64_t tokens = 0; // scored tokens seen so far
};

struct AdapterTrainingOptions {
    bool standIns = true;                       // train a stand-in for every removed unit
    AdapterMethod method = AdapterMethod::Bias; // what the stand-ins are
    int64_t rank = 16;                          // of low-rank stand-ins
    bool initFromFit = true;                    // else bias 0, low-rank up 0 (starts as removal alone)
    double ridge = 1e-4;                        // for the initial fit
    int64_t loraRank = 0;                       // > 0: LoRA of this rank on the kept projections
    double loraAlpha = 0;                       // LoRA scale alpha / rank; 0 means alpha = rank
    std::vector<Projection> loraProjections = {Projection::Q,   Projection::K,    Projection::V,
                                               Projection::O,   Projection::Gate, Projection::Up,
                                               Projection::Down};
    int64_t steps = 100;
    double learningRate = 1e-3;
    double weightDecay = 0.0;
    int64_t batchSize = 4; // windows per step; the windows' length is the sequence length
    uint64_t seed = 0;     // window order and LoRA initialisation
    std::function<void(const AdapterTrainingStep&)> onStep; // called after every step
};

struct AdapterTrainingReport {
    std::vector<double> losses; // per step
    int64_t tokens = 0;         // scored tokens seen
    int64_t trainableParameters = 0;
};

// Trains on `windows` with `removed` applied and returns the adapters (float32, on the model's
// device); the model's own adapters are set aside while training and restored after, also on an
// error or cancellation (so cancelling leaves the model as it was). Install with setAdapters.
// Throws Error for bad options or when there is nothing to train; Cancelled when asked to stop.
AdapterSet trainAdapters(Model& model, const std::vector<TokenWindow>& windows, const LayerMask& removed,
                         const AdapterTrainingOptions& options, const Progress& progress = {},
                         AdapterTrainingReport* report = nullptr);

} // namespace layerlab
