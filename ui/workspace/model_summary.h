#pragma once
// What the workbench shows and costs out about a loaded model, as plain numbers: read once from
// the Model (model_summary.cpp is the only file here that needs LibTorch for it), so the panels,
// the cost arithmetic and their tests work without a model in memory.

#include <cstdint>
#include <string>
#include <vector>

namespace layerlab {
class Model;
}

namespace layerlab::ui {

struct ModelSummary {
    std::string dir;
    std::string architecture;
    int64_t numLayers = 0;
    int64_t hiddenSize = 0;
    int64_t intermediateSize = 0;
    int64_t numHeads = 0;
    int64_t numKvHeads = 0;
    int64_t headDim = 0;
    int64_t vocabSize = 0;
    int64_t maxPositions = 0;
    // Parameter counts as the core's ParameterCounts defines them (norms included per sub-layer).
    int64_t totalParameters = 0;
    int64_t embeddingParameters = 0;
    int64_t lmHeadParameters = 0; // 0 when tied to the embedding
    int64_t finalNormParameters = 0;
    std::vector<int64_t> attentionParameters; // per layer
    std::vector<int64_t> ffnParameters;       // per layer
    std::string storedDtype;                  // config.json's, may be empty
    std::string computeDtype;                 // "f32", "bf16", "f16"
    int64_t computeDtypeBytes = 4;
    std::string device;    // as asked for and saved in sessions: "cpu", "cuda:0", "auto", "cuda:0,cuda:1"
    std::string placement; // where the parts went: "cuda:0", "cuda:0 layers 0-39 + embedding, ..."
    uint64_t weightBytes = 0;
    std::vector<std::string> unusedTensors;

    bool empty() const { return numLayers == 0; }
};

ModelSummary summarize(const Model& model);

} // namespace layerlab::ui
