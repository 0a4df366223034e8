#pragma once
// What a removal set saves: parameters, KV-cache bytes per token and FLOPs per token. Derived
// from the configuration and the parameter counts only, so it is instant after every toggle.

#include <cstdint>

#include <nlohmann/json.hpp>

#include "model/layer_mask.h"
#include "model/model.h"

namespace layerlab {

struct PruningCost {
    int64_t attentionRemoved = 0; // attention sub-layers not run (a removed block counts its own)
    int64_t ffnRemoved = 0;
    int64_t blocksRemoved = 0; // layers with neither sub-layer left
    int64_t parametersRemoved = 0;
    int64_t parametersTotal = 0;
    double parameterFraction = 0;
    int64_t kvBytesPerToken = 0; // of the full model: 2 (K and V) x kvHeads x headDim x bytes per layer
    int64_t kvBytesPerTokenSaved = 0;
    // Multiply-adds x 2 per generated token: the weights' share (2 x parameters of the removed
    // matrices, norms left out) plus, for attention, 4 x heads x headDim x contextTokens.
    double flopsPerToken = 0;
    double flopsPerTokenSaved = 0;
};

// kvElementBytes: bytes per cached element (the compute dtype's size, e.g. 2 for bf16).
PruningCost pruningCost(const ModelConfig& config, const ParameterCounts& counts, const LayerMask& mask,
                        int64_t kvElementBytes, int64_t contextTokens = 0);

// The cost as `eval --json` and sessions keep it ("cost"): every field of PruningCost, snake_case.
nlohmann::json pruningCostJson(const PruningCost& cost);

} // namespace layerlab
