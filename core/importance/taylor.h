#pragma once
// First-order Taylor importance of every unit from one backward pass over the data.

#include "importance/importance.h"

namespace layerlab {

// Metrics "taylor" = |sum over the unit's weights of w * dL/dw| (the first-order estimate of the
// loss change when the unit's weights are zeroed) and "taylor_abs" = sum |w * dL/dw|, for block,
// attn and ffn of every layer. L is the mean next-token loss over all scored positions. Weights
// of attn: input norm, q, k, v, o and their biases; ffn: post-attention norm, gate, up, down and
// their biases; block: both. Gradients are pooled over batches in float32 on the model's device
// (memory: one float32 copy of the layer weights).
// The model's layer weights require grad for the duration of the call (restored on return), so
// no other thread may run the same model meanwhile.
ImportanceScores taylor(const Model& model, const std::vector<TokenWindow>& windows,
                        const ImportanceOptions& options, const Progress& progress = {});

// Sum of next-token cross-entropy over the scored positions (targets as in targetMask), with
// autograd, in float32 (or the logits' dtype when wider).
torch::Tensor nextTokenLossSum(const torch::Tensor& logits, const torch::Tensor& inputIds,
                               const torch::Tensor& targets);

} // namespace layerlab
