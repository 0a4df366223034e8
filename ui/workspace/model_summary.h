#pragma once
// What the workbench shows and costs out about a loaded model, as plain data: read once from
// the Model (model_summary.cpp is the only file here that needs LibTorch for it), so the panels,
// the cost arithmetic and their tests work without a model in memory. The configuration and the
// parameter counts are the core's own structs, which need no LibTorch either.

#include <cstdint>
#include <string>
#include <vector>

#include "model/model_config.h"
#include "model/parameter_counts.h"

namespace layerlab {
class Model;
}

namespace layerlab::ui {

struct ModelSummary {
    std::string dir;
    ModelConfig config;         // as read from config.json (config.dtype: as stored, may be empty)
    ParameterCounts parameters; // as the Model counts them (norms included per sub-layer)
    std::string computeDtype;   // "f32", "bf16", "f16"
    int64_t computeDtypeBytes = 4;
    std::string device;    // as asked for and saved in sessions: "cpu", "cuda:0", "auto", "cuda:0,cuda:1"
    std::string placement; // where the parts went: "cuda:0", "cuda:0 layers 0-39 + embedding, ..."
    uint64_t weightBytes = 0;
    std::vector<std::string> unusedTensors;

    bool empty() const { return config.numLayers == 0; }
};

ModelSummary summarize(const Model& model);

} // namespace layerlab::ui
