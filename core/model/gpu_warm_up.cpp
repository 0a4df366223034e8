#include "model/gpu_warm_up.h"
#include "common/cuda_build.h"

#include "kernels/fused_ops.h"
#include "model/model.h"
#include "model/rotary.h"

#include <torch/version.h>

#include <algorithm>

#ifdef LAYERLAB_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#endif

namespace layerlab {

void warmUpGpu(const ModelConfig& c, torch::Device device, torch::ScalarType dtype) {
#ifdef LAYERLAB_WITH_CUDA
    try {
        const c10::cuda::CUDAGuard guard(device);
        torch::InferenceMode inference;
        // Stand-ins a few heads and rows wide: a few MB, whatever the model's size.
        const int64_t B = 2, T = 16, H = c.hiddenSize, hd = c.headDim, nh = std::min<int64_t>(c.numHeads, 2),
                      inner = std::min<int64_t>(c.intermediateSize, 256);
        const auto opt = torch::TensorOptions().device(device).dtype(dtype);
        const auto longs = opt.dtype(torch::kInt64);
        // Model::embed and Model::context (positions from a padding mask, rotary tables, masks).
        auto ids = torch::zeros({B, T}, torch::kInt64).to(device);
        const auto [lo, hi] = torch::aminmax(ids);
        torch::stack({lo, hi}).cpu();
        auto h = torch::embedding(torch::zeros({4, H}, opt), ids);
        auto keys = torch::ones({B, T}, longs).to(torch::kBool);
        auto positions = (keys.to(torch::kInt64).cumsum(1) - 1).clamp_min(0);
        auto tables = rotaryTables(c, positions, dtype);
        auto i = torch::arange(T, longs).unsqueeze(1), j = torch::arange(T, longs).unsqueeze(0);
        auto allowed = j.le(i)
                           .logical_and(j.gt(i - 4))
                           .unsqueeze(0)
                           .unsqueeze(0)
                           .logical_and(keys.view({B, 1, 1, T}))
                           .logical_or(j.eq(i));
        // One layer: norm, products, rotary, attention (causal and masked), SiLU x up, residual add
        // with the next norm.
        const auto norm = torch::ones({H}, opt);
        auto x = fused::available(h) ? fused::rmsNorm(h, norm, c.rmsNormEps) : h * norm;
        auto qkv = torch::nn::functional::linear(x, torch::zeros({3 * nh * hd, H}, opt));
        auto q = qkv.narrow(-1, 0, nh * hd).view({B, T, nh, hd}).transpose(1, 2);
        auto k = qkv.narrow(-1, nh * hd, nh * hd).view({B, T, nh, hd}).transpose(1, 2);
        auto v = qkv.narrow(-1, 2 * nh * hd, nh * hd).view({B, T, nh, hd}).transpose(1, 2);
        if (fused::available(q)) fused::rotaryInPlace(q, k, tables.cos, tables.sin);
#if TORCH_VERSION_MAJOR >= 2
        auto out = at::scaled_dot_product_attention(q, k, v, {}, 0.0, true);
        out = out + at::scaled_dot_product_attention(q, k, v, allowed, 0.0, false);
#else
        auto out = v;
#endif
        h = h + torch::nn::functional::linear(out.transpose(1, 2).reshape({B, T, nh * hd}),
                                              torch::zeros({H, nh * hd}, opt));
        auto gateUp = torch::zeros({B, T, 2 * inner}, opt);
        auto product = fused::available(gateUp) ? fused::siluMul(gateUp) : gateUp;
        auto update = torch::nn::functional::linear(product, torch::zeros({H, product.size(-1)}, opt));
        h = fused::available(h) ? fused::addRmsNorm(h, update, norm, c.rmsNormEps) : h + update;
        // The loss and the multiple-choice scores.
        auto logits = torch::nn::functional::linear(h, torch::zeros({8, H}, opt));
        nextTokenLoss(logits, ids, keys);
        if (fused::available(logits)) {
            torch::Tensor isArgmax;
            fused::tokenLogProbs(logits, ids, &isArgmax).cpu();
        }
        torch::cuda::synchronize(device.index());
    } catch (const std::exception&) {
        // Only speed depends on it; a real problem shows in the real pass.
    }
#else
    (void)c;
    (void)device;
    (void)dtype;
#endif
}

} // namespace layerlab
