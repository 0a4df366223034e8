#pragma once
// Token windows as model input: equal-length sequences stacked into [B, T] tensors.

#include <cstdint>
#include <span>
#include <vector>

#include <torch/types.h>

#include "data/dataset.h"

namespace layerlab {

// [B, T] int64 on the CPU. Throws Error when the batch is empty or the lengths differ.
torch::Tensor batchTensor(std::span<const TokenWindow> windows);
torch::Tensor batchTensor(const std::vector<std::vector<int64_t>>& sequences);

// [B, T] bool: true where the token at that position is a scored target (see TokenWindow).
// For a next-token loss, logits[:, :-1] predict ids[:, 1:] and mask[:, 1:] says which count.
torch::Tensor targetMask(std::span<const TokenWindow> windows);

} // namespace layerlab
