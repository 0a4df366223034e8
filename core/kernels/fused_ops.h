#pragma once
// LayerLab's own CUDA kernels (gpu_kernels.cu) on LibTorch tensors, for the fused paths of the
// forward pass and for log-probabilities of next tokens, on the caller's current CUDA stream.
// Built only where LibTorch has CUDA and nvcc is found: elsewhere available() is false and the
// functions throw. None of them is differentiable: callers use them without gradients.

#include <torch/torch.h>

namespace layerlab::fused {

// Whether these kernels were built and can run on tensors like x (CUDA, float32/float16/bfloat16).
bool available(const torch::Tensor& x);

// q [B, Hq, T, D] and k [B, Hk, T, D] (any strides, the last dimension contiguous; they may be
// views into one tensor) rotated in place by tables cos/sin [B or 1, T, D], as applyRotary does.
void rotaryInPlace(torch::Tensor& q, torch::Tensor& k, const torch::Tensor& cos, const torch::Tensor& sin);

// gateUp [..., 2I] (rows contiguous) -> silu(gateUp[..., :I]) * gateUp[..., I:] as [..., I].
torch::Tensor siluMul(const torch::Tensor& gateUp);

// logits [B, T, V] and targets [B, T] (int64, any strides) -> log p(target) per position, float32
// [B, T], computed in float32 without a float32 copy of the logits; isArgmax (optional) gets a
// bool [B, T]: the target is the first largest logit (argmax(-1) == target).
torch::Tensor tokenLogProbs(const torch::Tensor& logits, const torch::Tensor& targets,
                            torch::Tensor* isArgmax = nullptr);

// -sum of logProb [B, T] where keep [B, T] (bool, optional: everywhere), and the count, as a
// float64 tensor [2] on the device, summed in a fixed order.
torch::Tensor negatedMaskedSum(const torch::Tensor& logProb, const torch::Tensor& keep);

} // namespace layerlab::fused
