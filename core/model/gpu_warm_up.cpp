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

// q, k and v laid out as Model::forward lays them out, [B, heads, T, hd]: views of one product
// [B, T, 3 * nh * hd], or for grouped-query attention k and v as the contiguous copies its head
// repetition makes.
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> attentionInputs(const torch::Tensor& qkv,
                                                                        const ModelConfig& c, int64_t nh) {
    const int64_t B = qkv.size(0), T = qkv.size(1), hd = c.headDim;
    const auto heads = [&](int64_t i) {
        return qkv.narrow(-1, i * nh * hd, nh * hd).view({B, T, nh, hd}).transpose(1, 2);
    };
    if (c.numKvHeads < c.numHeads) return {heads(0), heads(1).contiguous(), heads(2).contiguous()};
    return {heads(0), heads(1), heads(2)};
}

// One layer on stand-ins a few heads and rows wide (a few MB, whatever the model's size): norm,
// products, rotary, attention (causal and masked), SiLU x up, residual add with the next norm;
// then the loss and the multiple-choice scores. Its attention calls are as short as multiple
// choice's and generation's, and take FlashAttention (or, masked, the memory-efficient kernel)
// as those do.
void warmUpLayer(const ModelConfig& c, const torch::TensorOptions& opt) {
    const int64_t B = 2, T = 16, H = c.hiddenSize, hd = c.headDim, nh = std::min<int64_t>(c.numHeads, 2),
                  inner = std::min<int64_t>(c.intermediateSize, 256);
    const auto longs = opt.dtype(torch::kInt64);
    // Model::embed and Model::context (positions from a padding mask, rotary tables, masks).
    auto ids = torch::zeros({B, T}, torch::kInt64).to(opt.device());
    const auto [lo, hi] = torch::aminmax(ids);
    torch::stack({lo, hi}).cpu();
    auto h = torch::embedding(torch::zeros({4, H}, opt), ids);
    auto keys = torch::ones({B, T}, longs).to(torch::kBool);
    auto positions = (keys.to(torch::kInt64).cumsum(1) - 1).clamp_min(0);
    auto tables = rotaryTables(c, positions, opt.dtype().toScalarType());
    auto i = torch::arange(T, longs).unsqueeze(1), j = torch::arange(T, longs).unsqueeze(0);
    auto allowed = j.le(i)
                       .logical_and(j.gt(i - 4))
                       .unsqueeze(0)
                       .unsqueeze(0)
                       .logical_and(keys.view({B, 1, 1, T}))
                       .logical_or(j.eq(i));
    const auto norm = torch::ones({H}, opt);
    auto x = fused::available(h) ? fused::rmsNorm(h, norm, c.rmsNormEps) : h * norm;
    auto [q, k, v] =
        attentionInputs(torch::nn::functional::linear(x, torch::zeros({3 * nh * hd, H}, opt)), c, nh);
    if (fused::available(q)) fused::rotaryInPlace(q, k, tables.cos, tables.sin);
    torch::Tensor out = v;
#if TORCH_VERSION_MAJOR >= 2
    {
        const AttentionKernelScope flash(AttentionKernel::FlashAttention, true);
        out = at::scaled_dot_product_attention(q, k, v, {}, 0.0, true);
        out = out + at::scaled_dot_product_attention(q, k, v, allowed, 0.0, false);
    }
#endif
    h = h + torch::nn::functional::linear(out.transpose(1, 2).reshape({B, T, nh * hd}),
                                          torch::zeros({H, nh * hd}, opt));
    auto gateUp = torch::zeros({B, T, 2 * inner}, opt);
    auto product = fused::available(gateUp) ? fused::siluMul(gateUp) : gateUp;
    auto update = torch::nn::functional::linear(product, torch::zeros({H, product.size(-1)}, opt));
    h = fused::available(h) ? fused::addRmsNorm(h, update, norm, c.rmsNormEps) : h + update;
    auto logits = torch::nn::functional::linear(h, torch::zeros({8, H}, opt));
    nextTokenLoss(logits, ids, keys);
    if (fused::available(logits)) {
        torch::Tensor isArgmax;
        fused::tokenLogProbs(logits, ids, &isArgmax).cpu();
    }
}

// Long passes (perplexity, importance) take cuDNN's attention where LibTorch prefers it (2.11 on
// Hopper does). Its kernel is generated on a machine's first use (NVRTC, then the driver, which
// keeps it in ~/.nv/ComputeCache): 0.65 s in the first batch on an H200. cuDNN generates another
// kernel for 16 tokens, and one kernel for 1,024, 2,048 and 4,096 (run K), so one causal call of a
// long sequence in two heads (3 MB at head size 128) compiles it while the weights are read.
void warmUpLongAttention(const ModelConfig& c, const torch::TensorOptions& opt) {
#if TORCH_VERSION_MAJOR >= 2
    const int64_t nh = std::min<int64_t>(c.numHeads, 2),
                  L = std::min<int64_t>(2048, c.maxPositionEmbeddings > 0 ? c.maxPositionEmbeddings : 2048);
    auto [q, k, v] = attentionInputs(torch::zeros({1, L, 3 * nh * c.headDim}, opt), c, nh);
    at::scaled_dot_product_attention(q, k, v, {}, 0.0, true);
#else
    (void)c;
    (void)opt;
#endif
}

} // namespace
#endif

bool warmUpGpu(const ModelConfig& c, torch::Device device, torch::ScalarType dtype) {
#ifdef LAYERLAB_WITH_CUDA
    if (!device.is_cuda()) return false;
    // Each part on its own: one that fails (out of memory, say) leaves the other its use.
    bool ranThrough = true;
    for (const auto part : {&warmUpLayer, &warmUpLongAttention}) {
        try {
            const c10::cuda::CUDAGuard guard(device);
            torch::InferenceMode inference;
            part(c, torch::TensorOptions().device(device).dtype(dtype));
            torch::cuda::synchronize(device.index());
        } catch (const std::exception&) {
            ranThrough = false; // only speed depends on it; a real problem shows in the real pass
        }
    }
    return ranThrough;
#else
    (void)c;
    (void)device;
    (void)dtype;
    return false;
#endif
}

} // namespace layerlab
