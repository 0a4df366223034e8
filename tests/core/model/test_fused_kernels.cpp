// The GPU's fused paths (one product for q/k/v and for gate/up, LibTorch's RMSNorm, rotary in
// three passes) against the reference arithmetic, on the demo model. On the CPU they are off: the
// logits are the same bits. On a GPU (LAYERLAB_TEST_DEVICE=cuda) the tolerances follow from the
// dtype: f32 agrees to a few units of its rounding over the depth of the model; in bf16 the fused
// path may round differently, so it must be no further from the f32 logits than the reference
// bf16 arithmetic is (bf16's unit roundoff 2^-8 bounds both).

#include "data/token_batch.h"
#include "eval/evaluation.h"
#include "model/adapter.h"
#include "model/model.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace layerlab;

namespace {

std::shared_ptr<Model> load(torch::ScalarType dtype, bool fused) {
    LoadOptions o{test::testDevice(), dtype};
    o.fusedKernels = fused;
    return Model::load(test::demoDir(), o);
}

torch::Tensor logitsOf(const Model& m, const torch::Tensor& ids) {
    torch::InferenceMode inference;
    return m.forward(ids, LayerMask(m.numLayers())).to(torch::kCPU, torch::kFloat64);
}

double rms(const torch::Tensor& t) {
    return std::sqrt(t.pow(2).mean().item<double>());
}

} // namespace

TEST(FusedKernels, CpuKeepsTheReferenceArithmeticGpuAgreesWithinTheDtype) {
    const auto windows = test::demoWindows(4, 96);
    const auto ids = batchTensor(windows);
    auto fused32 = load(torch::kFloat32, true);
    auto plain32 = load(torch::kFloat32, false);
    const auto reference = logitsOf(*plain32, ids);
    const auto f32 = logitsOf(*fused32, ids);
    if (test::testDevice().is_cpu()) {
        EXPECT_TRUE(torch::equal(f32, reference));
        EXPECT_FALSE(fused32->layer(0).qkv.defined()); // nothing fused on the CPU
        return;
    }
    ASSERT_TRUE(fused32->layer(0).qkv.defined());
    ASSERT_TRUE(fused32->layer(0).gateUp.defined());
    // q, k, v are views of the fused matrix: the weights are held once.
    EXPECT_EQ(fused32->layer(0).k.data_ptr<float>(),
              fused32->layer(0).qkv.data_ptr<float>() + fused32->layer(0).q.numel());
    EXPECT_EQ(fused32->weightBytes(), plain32->weightBytes());
    // float32: unit roundoff 6e-8, a few hundred operations deep: 1e-5 of the logits' scale.
    EXPECT_LE(test::maxDiff(f32, reference), 1e-5 * reference.abs().max().item<double>());

    auto fused16 = load(torch::kBFloat16, true);
    auto plain16 = load(torch::kBFloat16, false);
    const auto fusedError = rms(logitsOf(*fused16, ids) - reference);
    const auto plainError = rms(logitsOf(*plain16, ids) - reference);
    const double u = std::ldexp(1.0, -8);
    std::printf("bf16 logits against f32 (RMS): fused %.4g, reference arithmetic %.4g (logits RMS %.4g)\n",
                fusedError, plainError, rms(reference));
    EXPECT_LE(fusedError, 1.25 * plainError + u * rms(reference) / 16);
    EXPECT_LE(fusedError, 4 * u * rms(reference));
    // The loss a user reads: the same to bf16's rounding of a mean over many tokens.
    const auto a = evaluateLoss(*fused16, windows, LayerMask(10), {4, {}}).loss;
    const auto b = evaluateLoss(*plain16, windows, LayerMask(10), {4, {}}).loss;
    EXPECT_NEAR(a, b, u * b);
}

// The residual add and the next sub-layer's norm run as one kernel only where that sub-layer runs
// next: removed sub-layers, blocks and their adapters in between must break the chain, and
// observers see the sums.
TEST(FusedKernels, PrunedPassesAndObservedPointsAgreeWithTheReferenceArithmetic) {
    const auto ids = batchTensor(test::demoWindows(2, 64));
    auto fused = load(torch::kFloat32, true);
    auto plain = load(torch::kFloat32, false);
    LayerMask mask(fused->numLayers());
    mask.remove(Unit::Attention, 1);
    mask.remove(Unit::Ffn, 2);
    mask.remove(Unit::Attention, 4);
    mask.remove(Unit::Ffn, 4);
    mask.remove(Unit::Block, 6);
    mask.remove(Unit::Ffn, 8);
    mask.remove(Unit::Attention, 9);
    // Stand-ins where units are removed (a block's, a removed attention's low-rank map, a removed
    // FFN's bias) and a LoRA on a kept projection: each changes h outside the add-and-norm kernel.
    const int64_t H = fused->config().hiddenSize;
    torch::manual_seed(8);
    AdapterSet adapters;
    adapters.units.push_back({Unit::Block, 6, torch::randn({H}) * 0.1, {}, {}});
    adapters.units.push_back({Unit::Attention, 1, torch::randn({H}) * 0.1, torch::randn({H, 4}) * 0.1,
                              torch::randn({4, H}) * 0.1});
    adapters.units.push_back({Unit::Ffn, 8, torch::randn({H}) * 0.1, {}, {}});
    const auto [out, in] = projectionShape(fused->config(), Projection::Up);
    adapters.lora.push_back({3, Projection::Up, torch::randn({in, 2}) * 0.1, torch::randn({2, out}) * 0.1});
    fused->setAdapters(adapters);
    plain->setAdapters(adapters);
    torch::Tensor logits[2];
    ResidualCapture captures[2] = {ResidualCapture(fused->numLayers()), ResidualCapture(plain->numLayers())};
    for (int i = 0; i < 2; ++i) {
        torch::InferenceMode inference;
        logits[i] =
            (i == 0 ? fused : plain)->forward(ids, mask, &captures[i]).to(torch::kCPU, torch::kFloat64);
    }
    const double tolerance = test::testDevice().is_cpu() ? 0.0 : 1e-5;
    EXPECT_LE(test::maxDiff(logits[0], logits[1]), tolerance * logits[1].abs().max().item<double>());
    for (int64_t l = 0; l < fused->numLayers(); ++l)
        for (const auto point : {ResidualPoint::AfterAttention, ResidualPoint::BlockOutput}) {
            const auto want = captures[1].at(l, point).to(torch::kCPU, torch::kFloat64);
            EXPECT_LE(test::maxDiff(captures[0].at(l, point).to(torch::kCPU, torch::kFloat64), want),
                      tolerance * want.abs().max().item<double>())
                << "layer " << l;
        }
}

// Adapter training runs the layers above the first removed unit with gradients: the fused paths
// must leave the gradient of the residual stream as the reference arithmetic gives it.
TEST(FusedKernels, GradientsFlowThroughTheFusedFeedForward) {
    torch::manual_seed(6);
    auto fused = load(torch::kFloat32, true);
    auto plain = load(torch::kFloat32, false);
    const auto opt = torch::TensorOptions().device(test::testDevice());
    const auto start = torch::randn({2, 5, fused->config().hiddenSize}, opt);
    torch::Tensor grads[2];
    for (int i = 0; i < 2; ++i) {
        auto h = start.clone().requires_grad_(true);
        (i == 0 ? fused : plain)->ffnUpdate(0, h).pow(2).sum().backward();
        grads[i] = h.grad();
    }
    ASSERT_TRUE(grads[0].defined());
    // Through the residual alone the gradient would be 0 here: the update is all there is.
    EXPECT_GT(grads[1].abs().max().item<double>(), 0);
    EXPECT_LE(test::maxDiff(grads[0], grads[1]), 1e-5 * grads[1].abs().max().item<double>());
}
