#include "model/gpu_warm_up.h"
#include "common/cuda_build.h"

#include "common/attention_backend.h"
#include "kernels/fused_ops.h"
#include "model/model.h"
#include "model/rotary.h"

#include <torch/version.h>

#include <algorithm>
#include <tuple>

#ifdef LAYERLAB_WITH_CUDA
#include <c10/cuda/CUDAGuard.h>
#endif

namespace layerlab {
#ifdef LAYERLAB_WITH_CUDA
namespace {

// q, k and v laid out as Model::forward lays them out, [B, heads, T, hd]: views of one product, or
// for grouped-query attention k and v as the contiguous copies its head repetition makes.
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> attentionInputs(const torch::Tensor& x,
                                                                        const ModelConfig& c, int64_t nh) {
    const int64_t B = x.size(0), T = x.size(1), hd = c.headDim;
    auto qkv = torch::nn::functional::linear(x, torch::zeros({3 * nh * hd, x.size(-1)}, x.options()));
    const auto heads = [&](int64_t i) {
        return qkv.narrow(-1, i * nh * hd, nh * hd).view({B, T, nh, hd}).transpose(1, 2);
    };
    if (c.numKvHeads < c.numHeads) return {heads(0), heads(1).contiguous(), heads(2).contiguous()};
    return {heads(0), heads(1), heads(2)};
}

} // namespace
#endif

bool warmUpGpu(const ModelConfig& c, torch::Device device, torch::ScalarType dtype) {
#ifdef LAYERLAB_WITH_CUDA
    if (!device.is_cuda()) return false;
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
        // with the next norm. Calls this short take FlashAttention (or, masked, the memory-efficient
        // kernel), as multiple choice and generation do.
        const auto norm = torch::ones({H}, opt);
        auto x = fused::available(h) ? fused::rmsNorm(h, norm, c.rmsNormEps) : h * norm;
        auto [q, k, v] = attentionInputs(x, c, nh);
        if (fused::available(q)) fused::rotaryInPlace(q, k, tables.cos, tables.sin);
        torch::Tensor out = v;
#if TORCH_VERSION_MAJOR >= 2
        {
            const AttentionKernelScope flash(AttentionKernel::FlashAttention, true);
            out = at::scaled_dot_product_attention(q, k, v, {}, 0.0, true);
            out = out + at::scaled_dot_product_attention(q, k, v, allowed, 0.0, false);
        }
        // Long passes (perplexity, importance) take cuDNN's attention, whose kernel is generated on
        // a machine's first use of it (NVRTC, then the driver, which keeps it in ~/.nv/ComputeCache):
        // 0.65 s in the first batch on an H200. cuDNN generates another kernel for 16 tokens, and
        // the same one for 1,024 to 4,096 (run K), so one long sequence here has it compiled while
        // the weights are read.
        {
            const int64_t L =
                std::min<int64_t>(2048, c.maxPositionEmbeddings > 0 ? c.maxPositionEmbeddings : 2048);
            auto [lq, lk, lv] = attentionInputs(torch::zeros({1, L, H}, opt), c, nh);
            at::scaled_dot_product_attention(lq, lk, lv, {}, 0.0, true);
        }
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
        return true;
    } catch (const std::exception&) {
        // Only speed depends on it; a real problem shows in the real pass.
        return false;
    }
#else
    (void)c;
    (void)device;
    (void)dtype;
    return false;
#endif
}

} // namespace layerlab
