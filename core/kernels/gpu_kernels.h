#pragma once
// CUDA kernels for the element-wise work of the forward pass and for token log-probabilities,
// behind a plain interface (raw pointers, sizes, strides in elements, a cudaStream_t as void*):
// no LibTorch here, so this compiles with nvcc alone. fused_ops.h is what the model calls.
// Each launcher returns nullptr, or the CUDA error's text.

#include <cstdint>

namespace layerlab::gpu {

enum class ElementType { Float32, Float16, BFloat16 };

// Rotary embedding applied in place to q [B, Hq, T, D] and k [B, Hk, T, D] (strides for batch,
// head and position; the last dimension is contiguous) with cos/sin tables [Bt, T, D] (a batch
// stride of 0 shares one table). The arithmetic and roundings of transformers' apply_rotary_pos_emb
// (q * cos + rotate_half(q) * sin, each product and the sum rounded to the element type).
struct RotaryArgs {
    void* q = nullptr;
    void* k = nullptr;
    const void* cos = nullptr;
    const void* sin = nullptr;
    ElementType type = ElementType::BFloat16;
    int64_t batch = 0, positions = 0, qHeads = 0, kHeads = 0, headDim = 0;
    int64_t qStride[3] = {}, kStride[3] = {}, tableStride[2] = {};
};
const char* rotaryInPlace(const RotaryArgs& a, void* stream);

// out[r, j] = silu(in[r, j]) * in[r, inner + j] for rows of 2 * inner elements (row stride
// inStride) into a contiguous [rows, inner]; silu rounded to the element type before the product,
// as transformers' act_fn(gate_proj(x)) * up_proj(x).
const char* siluMul(const void* in, void* out, ElementType type, int64_t rows, int64_t inner,
                    int64_t inStride, void* stream);

// RMSNorm, after the residual add where update is given, as transformers' decoder layer runs
// them: for rows of `width` elements (contiguous rows), sum = h + update rounded to the element
// type, then normed = weight * (sum * rsqrt(mean(sum^2) + eps)), the normalised value computed
// in float32 and rounded to the element type before the product (LlamaRMSNorm). One read of each
// input; normed may be update (each element is read before it is written, by the same thread).
// Without update (null), h itself is normalised (sum unused), to the same bits as after an add.
struct RmsNormArgs {
    const void* h = nullptr;
    const void* update = nullptr;
    const void* weight = nullptr;
    void* sum = nullptr;
    void* normed = nullptr;
    ElementType type = ElementType::BFloat16;
    int64_t rows = 0, width = 0;
    float eps = 1e-6f;
};
const char* rmsNorm(const RmsNormArgs& a, void* stream);

// For each (b, t) of logits [B, T, V] (strides for b and t; V contiguous): logProb[b * T + t] =
// logits[target] - logsumexp(logits row) in float32, target = targets[b, t] (strides for b and t);
// NaN for a target outside the vocabulary or a row with a NaN. isArgmax (optional, one byte per
// row): whether the target is the row's first largest logit (torch.argmax(-1) == target).
struct LogProbArgs {
    const void* logits = nullptr;
    ElementType type = ElementType::BFloat16;
    int64_t batch = 0, positions = 0, vocab = 0;
    int64_t logitStride[2] = {};
    const int64_t* targets = nullptr;
    int64_t targetStride[2] = {};
    float* logProb = nullptr;
    uint8_t* isArgmax = nullptr;
};
const char* tokenLogProbs(const LogProbArgs& a, void* stream);

// out[0] = -sum of logProb[r] over the rows r = b * T + t where keep[b, t] (every row when keep
// is null), out[1] = their count; in float64, in a fixed order (the same bits every run).
const char* negatedMaskedSum(const float* logProb, int64_t batch, int64_t positions, const uint8_t* keep,
                             const int64_t keepStride[2], double* out, void* stream);

} // namespace layerlab::gpu
