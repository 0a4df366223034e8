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

// The residual add and the RMSNorm after it in one kernel, with transformers' roundings
// (gpu_kernels.h): returns h + update, a new tensor as LibTorch's add makes it, and overwrites
// update (a sub-layer's fresh output, not needed after the add) with the RMSNorm of that sum with
// weight [H], so that no third tensor is made. h and update: the same shape [..., H], dtype and
// device, contiguous.
torch::Tensor addRmsNorm(const torch::Tensor& h, torch::Tensor& update, const torch::Tensor& weight,
                         double eps);
// The RMSNorm of x [..., H] (contiguous) alone, to the same bits as addRmsNorm gives for a sum
// equal to x: a pass restarted from a cached residual normalises it as the full pass did.
torch::Tensor rmsNorm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

// logits [B, T, V] and targets [B, T] (int64, any strides) -> log p(target) per position, float32
// [B, T], computed in float32 without a float32 copy of the logits; isArgmax (optional) gets a
// bool [B, T]: the target is the first largest logit (argmax(-1) == target).
torch::Tensor tokenLogProbs(const torch::Tensor& logits, const torch::Tensor& targets,
                            torch::Tensor* isArgmax = nullptr);

// -sum of logProb [B, T] where keep [B, T] (bool, optional: everywhere), and the count, as a
// float64 tensor [2] on the device, summed in a fixed order.
torch::Tensor negatedMaskedSum(const torch::Tensor& logProb, const torch::Tensor& keep);

} // namespace layerlab::fused
