#pragma once
// Rotary position embeddings with the scaling schemes Llama-family checkpoints use
// (default, linear, dynamic NTK, llama3), computed in float32 as transformers does.

#include <torch/torch.h>

#include "model/model_config.h"

namespace layerlab {

// Inverse frequencies [headDim/2], float32, for sequences up to seqLen tokens (dynamic scaling
// depends on it; the other schemes ignore it).
torch::Tensor rotaryInverseFrequencies(const ModelConfig& config, int64_t seqLen);

struct RotaryTables {
    torch::Tensor cos; // [B or 1, T, headDim] in the compute dtype
    torch::Tensor sin;
};

// positions: int64 [B, T] or [T].
RotaryTables rotaryTables(const ModelConfig& config, const torch::Tensor& positions, torch::ScalarType dtype);

// x: [B, heads, T, headDim]; tables as above.
torch::Tensor applyRotary(const torch::Tensor& x, const RotaryTables& tables);
// The same in three passes instead of five (x cos, then each half's rotated product added in
// place), rounding once less: for GPUs, where memory traffic is the cost.
torch::Tensor applyRotaryFused(const torch::Tensor& x, const RotaryTables& tables);

} // namespace layerlab
