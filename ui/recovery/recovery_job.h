#pragma once
// Recovery for the current removal set: closed-form adapters (core/recovery/adapter_fit.h) or trained ones
// (core/recovery/adapter_training.h) made from the calibration sample on the worker, installed in the model
// on the GUI thread through a JobRunner GUI step (no job runs the model then), with the loss before and after
// on the quick-evaluation sample.

#include <QString>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/layer_mask.h"

namespace layerlab::ui {

class JobRunner;
class Workspace;

enum class RecoveryMethod { Bias, LowRank, FoldLinear, LearnedBias, LearnedLowRank, Lora };

struct RecoveryRequest {
    RecoveryMethod method = RecoveryMethod::Bias;
    int64_t rank = 16;   // low-rank stand-ins; the LoRA rank for Lora
    double ridge = 1e-4; // relative to the mean variance of the unit's input
    int64_t batchSize = 8;
    // Trained methods only.
    int64_t steps = 100;
    double learningRate = 1e-3;
    int64_t loraRank = 0; // LoRA added to learned stand-ins (0: none)
    bool trained() const {
        return method == RecoveryMethod::LearnedBias || method == RecoveryMethod::LearnedLowRank ||
               method == RecoveryMethod::Lora;
    }
};

// The CLI's name for the method: "bias", "lowrank:16", "learned-bias", "lora:8", ...
std::string recoveryMethodName(const RecoveryRequest& request);

struct RecoveryResult {
    LayerMask mask; // the removal set the adapters were fitted for
    std::string method;
    int64_t adapters = 0;
    std::string dropped; // units fitted but left out by the core's guard (they made the loss worse)
    double fullLoss = 0, removedLoss = 0, recoveredLoss = 0; // perplexity = exp(loss)
    int64_t windows = 0, tokens = 0;
    double fitSeconds = 0;
    std::vector<double> lossCurve; // per training step (trained methods)
};

// Queues, in order: a GUI step that takes the installed adapters out (kept aside), a worker job
// that measures the full and removed-only loss and fits the adapters, a GUI step that installs the
// new adapters or, when the fit failed or was cancelled, puts the old ones back (it runs even
// after Cancel), and a worker job that measures the recovered loss. onStep (trained methods) and
// onResult run on the GUI thread. Does nothing (returns false) without a model or with an empty
// removal set.
bool submitRecovery(JobRunner& jobs, Workspace& workspace, const RecoveryRequest& request,
                    std::function<void(const RecoveryResult&)> onResult,
                    std::function<void(int64_t step, double loss)> onStep = {});

// Takes every adapter out of the model (a GUI step, after the jobs queued before it).
void submitRemoveAdapters(JobRunner& jobs, Workspace& workspace);

// Loads adapters from a file (recover --save-adapters, a session's adapters) and installs them,
// in a GUI step after the jobs queued before it. onError gets a message naming the file.
void submitInstallAdapters(JobRunner& jobs, Workspace& workspace, const QString& path,
                           std::function<void(const QString&)> onError);

// Whether the model has adapters installed (stand-ins or LoRA).
bool hasInstalledAdapters(const Workspace& workspace);

// Writes the installed adapters as safetensors; an error message naming the file, or "".
// On the GUI thread: installing and removing happen there too, so the set cannot change meanwhile.
QString saveInstalledAdapters(const Workspace& workspace, const QString& path);

} // namespace layerlab::ui
