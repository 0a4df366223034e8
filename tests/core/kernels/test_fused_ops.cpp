// LayerLab's CUDA kernels (kernels/fused_ops.h) against LibTorch's reference arithmetic on random
// data, on the test device (LAYERLAB_TEST_DEVICE=cuda). The element-wise kernels keep the
// reference's roundings (each product and sum stored in the dtype), so they may differ from it by
// at most one rounding of the dtype; the log-probabilities are float32 reductions over the
// vocabulary, compared with a float64 log-softmax. On the CPU the kernels do not exist, and
// nothing calls them.

#include "kernels/fused_ops.h"
#include "model/model.h"
#include "model/rotary.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace layerlab;

namespace {

// One rounding of the dtype at the scale of x (its unit roundoff times max |x|).
double oneRounding(const torch::Tensor& x) {
    const double u = x.scalar_type() == torch::kBFloat16  ? std::ldexp(1.0, -8)
                     : x.scalar_type() == torch::kFloat16 ? std::ldexp(1.0, -11)
                                                          : std::ldexp(1.0, -24);
    return u * x.abs().max().to(torch::kFloat64).item<double>();
}

const torch::ScalarType kDtypes[] = {torch::kBFloat16, torch::kFloat16, torch::kFloat32};

bool onGpu() {
    return test::testDevice().is_cuda();
}

} // namespace

TEST(FusedOps, ExistExactlyWhereLibTorchHasCuda) {
    // Never on the CPU's tensors: a build without the kernels says so, one with them refuses them.
    EXPECT_FALSE(fused::available(torch::zeros({2})));
    EXPECT_ANY_THROW(fused::siluMul(torch::zeros({2, 4})));
    auto cpu = torch::zeros({2, 4});
    EXPECT_ANY_THROW(fused::addRmsNorm(torch::zeros({2, 4}), cpu, torch::ones({4}), 1e-6));
    EXPECT_ANY_THROW(fused::rmsNorm(torch::zeros({2, 4}), torch::ones({4}), 1e-6));
    if (!onGpu()) return;
    // A GPU build without the kernels would silently take the slower paths: it must not pass.
    EXPECT_TRUE(fused::available(torch::zeros({2}, torch::TensorOptions().device(test::testDevice()))));
    EXPECT_FALSE(fused::available(
        torch::zeros({2}, torch::TensorOptions().device(test::testDevice()).dtype(torch::kInt64))));
}

TEST(FusedOps, RotaryInPlaceOnRowsOfOneProductEqualsApplyRotary) {
    if (!onGpu()) GTEST_SKIP() << "CUDA kernels (LAYERLAB_TEST_DEVICE=cuda)";
    torch::manual_seed(0);
    // Head sizes 128 (16-byte accesses) and 6 (one element at a time); shared and per-row tables.
    for (const int64_t D : {128, 6})
        for (const int64_t tableRows : {1, 3})
            for (const auto dtype : kDtypes) {
                const int64_t B = 3, T = 17, Hq = 4, Hk = 2;
                const auto opt = torch::TensorOptions().device(test::testDevice()).dtype(dtype);
                const auto qkv = torch::randn({B, T, (Hq + 2 * Hk) * D}, opt);
                auto q = qkv.narrow(-1, 0, Hq * D).view({B, T, Hq, D}).transpose(1, 2);
                auto k = qkv.narrow(-1, Hq * D, Hk * D).view({B, T, Hk, D}).transpose(1, 2);
                // Halves that differ (a model's tables repeat them): a swap of halves would show.
                const RotaryTables tables{torch::rand({tableRows, T, D}, opt) * 2 - 1,
                                          torch::rand({tableRows, T, D}, opt) * 2 - 1};
                const auto wantQ = applyRotary(q, tables), wantK = applyRotary(k, tables);
                const auto v = qkv.narrow(-1, (Hq + Hk) * D, Hk * D).clone();
                fused::rotaryInPlace(q, k, tables.cos, tables.sin);
                SCOPED_TRACE(std::string(c10::toString(dtype)) + " D=" + std::to_string(D) +
                             " table rows=" + std::to_string(tableRows));
                EXPECT_LE(test::maxDiff(q, wantQ), oneRounding(wantQ));
                EXPECT_LE(test::maxDiff(k, wantK), oneRounding(wantK));
                // In place: the product's rows changed where q and k are, and only there.
                EXPECT_TRUE(torch::equal(qkv.narrow(-1, 0, Hq * D).view({B, T, Hq, D}).transpose(1, 2), q));
                EXPECT_TRUE(torch::equal(qkv.narrow(-1, (Hq + Hk) * D, Hk * D), v));
            }
}

TEST(FusedOps, RotaryOfOneDecodingStepTakesEachRowsPosition) {
    if (!onGpu()) GTEST_SKIP() << "CUDA kernels (LAYERLAB_TEST_DEVICE=cuda)";
    torch::manual_seed(5);
    // As Model::decodeStep builds them: one row of a [capacity, D] table per sequence, [B, 1, D].
    const int64_t B = 4, H = 2, D = 64, capacity = 40;
    const auto opt = torch::TensorOptions().device(test::testDevice()).dtype(torch::kBFloat16);
    const auto cos = torch::rand({capacity, D}, opt), sin = torch::rand({capacity, D}, opt);
    const auto positions = torch::tensor({3, 17, 0, 39}, torch::kInt64).to(test::testDevice());
    const RotaryTables tables{cos.index_select(0, positions).unsqueeze(1),
                              sin.index_select(0, positions).unsqueeze(1)};
    const auto qkv = torch::randn({B, 1, 3 * H * D}, opt);
    auto q = qkv.narrow(-1, 0, H * D).view({B, 1, H, D}).transpose(1, 2);
    auto k = qkv.narrow(-1, H * D, H * D).view({B, 1, H, D}).transpose(1, 2);
    const auto wantQ = applyRotary(q, tables), wantK = applyRotary(k, tables);
    fused::rotaryInPlace(q, k, tables.cos, tables.sin);
    EXPECT_LE(test::maxDiff(q, wantQ), oneRounding(wantQ));
    EXPECT_LE(test::maxDiff(k, wantK), oneRounding(wantK));
}

TEST(FusedOps, RefuseTensorsThatNeedGradients) {
    if (!onGpu()) GTEST_SKIP() << "CUDA kernels (LAYERLAB_TEST_DEVICE=cuda)";
    const auto x =
        torch::zeros({2, 8}, torch::TensorOptions().device(test::testDevice()).requires_grad(true));
    EXPECT_THROW(fused::siluMul(x), c10::Error);
}

TEST(FusedOps, SiluMulEqualsSiluOfGateTimesUp) {
    if (!onGpu()) GTEST_SKIP() << "CUDA kernels (LAYERLAB_TEST_DEVICE=cuda)";
    torch::manual_seed(1);
    for (const int64_t I : {64, 13})
        for (const auto dtype : kDtypes) {
            const auto opt = torch::TensorOptions().device(test::testDevice()).dtype(dtype);
            const auto gateUp = torch::randn({2, 5, 2 * I}, opt) * 4;
            const auto want = torch::silu(gateUp.narrow(-1, 0, I)) * gateUp.narrow(-1, I, I);
            const auto got = fused::siluMul(gateUp);
            SCOPED_TRACE(std::string(c10::toString(dtype)) + " I=" + std::to_string(I));
            ASSERT_EQ(got.sizes(), want.sizes());
            EXPECT_LE(test::maxDiff(got, want), oneRounding(want));
        }
}

// transformers' decoder layer: hidden_states = residual + hidden_states, then LlamaRMSNorm
// (modeling_llama.py): variance in float32, normalised value cast to the dtype, times the weight.
TEST(FusedOps, AddRmsNormFollowsTransformersResidualAddAndRmsNorm) {
    if (!onGpu()) GTEST_SKIP() << "CUDA kernels (LAYERLAB_TEST_DEVICE=cuda)";
    torch::manual_seed(7);
    const double eps = 1e-5;
    // Widths with 16-byte accesses (4096), with them only in float32 (4100), and one at a time (10);
    // one row (a decoding step) and many; rows that start off a 16-byte boundary.
    for (const int64_t H : {4096, 4100, 10})
        for (const int64_t rows : {1, 37})
            for (const bool offset : {false, true})
                for (const auto dtype : kDtypes) {
                    const auto opt = torch::TensorOptions().device(test::testDevice()).dtype(dtype);
                    const int64_t skip = offset ? 1 : 0;
                    // Off a boundary: h one element in, the update (and so the norm) too.
                    const auto h =
                        torch::randn({rows * H + skip}, opt).narrow(0, skip, rows * H).view({rows, H});
                    const auto update =
                        (torch::randn({rows * H + skip}, opt) * 3).narrow(0, skip, rows * H).view({rows, H});
                    const auto weight = torch::rand({H}, opt) * 2 - 0.5;
                    const auto wantSum = h + update;
                    const auto xf = wantSum.to(torch::kFloat32);
                    const auto normalised = xf * torch::rsqrt(xf.pow(2).mean(-1, true) + eps);
                    const auto want = weight * normalised.to(dtype);
                    auto normed = update.clone();
                    if (offset) // clone() lands on a fresh, aligned block: put it back off the boundary
                        normed = torch::empty({rows * H + 1}, opt)
                                     .narrow(0, 1, rows * H)
                                     .view({rows, H})
                                     .copy_(update);
                    const auto sum =
                        fused::addRmsNorm(h, normed, weight, eps); // normed: update, then the norm
                    SCOPED_TRACE(std::string(c10::toString(dtype)) + " H=" + std::to_string(H) +
                                 " rows=" + std::to_string(rows) + (offset ? " off a boundary" : ""));
                    EXPECT_TRUE(torch::equal(sum, wantSum)); // one rounding, the same as LibTorch's add
                    // The normalised value may round the other way (the mean's order, rsqrt), and the
                    // weight (up to 1.5) scales that: four roundings of the dtype, and in float32 a
                    // few units of its last place.
                    const double scale = want.abs().max().to(torch::kFloat64).item<double>();
                    EXPECT_LE(test::maxDiff(normed, want),
                              4 * oneRounding(want) + std::ldexp(8.0, -24) * scale);
                    // The norm alone, of that sum: the same bits, aligned or not (restarted passes).
                    EXPECT_TRUE(torch::equal(fused::rmsNorm(sum, weight, eps), normed));
                    EXPECT_TRUE(torch::equal(fused::rmsNorm(wantSum.clone(), weight, eps), normed));
                }
    // What the model must not hand it: views with gaps, tensors that carry gradients.
    const auto opt = torch::TensorOptions().device(test::testDevice());
    const auto wide = torch::zeros({4, 16}, opt);
    auto gappy = wide.narrow(1, 8, 8);
    EXPECT_THROW(fused::addRmsNorm(wide.narrow(1, 0, 8), gappy, torch::ones({8}, opt), eps), c10::Error);
    EXPECT_THROW(fused::rmsNorm(wide.narrow(1, 0, 8), torch::ones({8}, opt), eps), c10::Error);
    auto same = wide.clone();
    EXPECT_THROW(fused::addRmsNorm(wide.requires_grad_(true), same, torch::ones({16}, opt), eps), c10::Error);
}

TEST(FusedOps, TokenLogProbsAndArgmaxFollowLogSoftmaxAndTorchArgmax) {
    if (!onGpu()) GTEST_SKIP() << "CUDA kernels (LAYERLAB_TEST_DEVICE=cuda)";
    torch::manual_seed(2);
    for (const int64_t V : {1000, 1001})
        for (const auto dtype : kDtypes) {
            const auto opt = torch::TensorOptions().device(test::testDevice()).dtype(dtype);
            const int64_t B = 3, T = 7;
            // A strided view: the logits of positions 0 .. T - 1 of a longer pass.
            auto whole = (torch::randn({B, T + 2, V}, opt.dtype(torch::kFloat32)) * 3).to(dtype);
            auto targets = torch::randint(V, {B, T}, opt.dtype(torch::kInt64));
            // Ties for the largest logit: torch.argmax picks the first, so only that one is "greedy".
            whole[0][0].fill_(0);
            whole[0][0][5].fill_(9);
            whole[0][0][700].fill_(9);
            targets[0][0].fill_(700);
            whole[0][1].fill_(0);
            whole[0][1][5].fill_(9);
            whole[0][1][700].fill_(9);
            targets[0][1].fill_(5);
            const auto logits = whole.narrow(1, 0, T);
            torch::Tensor isArgmax;
            const auto got = fused::tokenLogProbs(logits, targets, &isArgmax);
            const auto ref = torch::log_softmax(logits.to(torch::kFloat64), -1)
                                 .gather(-1, targets.unsqueeze(-1))
                                 .squeeze(-1);
            SCOPED_TRACE(std::string(c10::toString(dtype)) + " V=" + std::to_string(V));
            EXPECT_LE(test::maxDiff(got, ref), 2e-5);
            const auto wantArgmax = logits.argmax(-1).eq(targets);
            EXPECT_TRUE(torch::equal(isArgmax, wantArgmax));
            EXPECT_FALSE(isArgmax[0][0].item<bool>());
            EXPECT_TRUE(isArgmax[0][1].item<bool>());
        }
}

TEST(FusedOps, TargetsOutsideTheVocabularyOrNanLogitsGiveNan) {
    if (!onGpu()) GTEST_SKIP() << "CUDA kernels (LAYERLAB_TEST_DEVICE=cuda)";
    const auto opt = torch::TensorOptions().device(test::testDevice());
    auto logits = torch::zeros({1, 3, 16}, opt.dtype(torch::kBFloat16));
    logits[0][2][3].fill_(std::nan(""));
    const auto targets = torch::tensor({{16, 2, 1}}, torch::kInt64).to(test::testDevice());
    const auto got = fused::tokenLogProbs(logits, targets).cpu();
    EXPECT_TRUE(std::isnan(got[0][0].item<float>()));
    EXPECT_NEAR(got[0][1].item<float>(), -std::log(16.0), 1e-6);
    EXPECT_TRUE(std::isnan(got[0][2].item<float>()));
}

TEST(FusedOps, NegatedMaskedSumIsTheSumOfTheKeptRowsInTheSameBitsEveryRun) {
    if (!onGpu()) GTEST_SKIP() << "CUDA kernels (LAYERLAB_TEST_DEVICE=cuda)";
    torch::manual_seed(3);
    const auto opt = torch::TensorOptions().device(test::testDevice());
    const auto logProb = -torch::rand({5, 3001}, opt) * 10;
    const auto keepWide = torch::rand({5, 3002}, opt).gt(0.3);
    const auto keep = keepWide.narrow(1, 1, 3001); // strided, as the loss passes its targets' mask
    const auto sum = fused::negatedMaskedSum(logProb, keep).cpu();
    const auto want = (-logProb.to(torch::kFloat64)).masked_fill(keep.logical_not(), 0).sum().item<double>();
    EXPECT_NEAR(sum[0].item<double>(), want, 1e-9 * want);
    EXPECT_EQ(sum[1].item<double>(), keep.sum().item<int64_t>());
    EXPECT_TRUE(torch::equal(sum, fused::negatedMaskedSum(logProb, keep).cpu()));
    const auto all = fused::negatedMaskedSum(logProb, {}).cpu();
    EXPECT_EQ(all[1].item<double>(), 5 * 3001);
}

TEST(FusedOps, NextTokenLossByTheKernelsEqualsTheChunkedReference) {
    if (!onGpu()) GTEST_SKIP() << "CUDA kernels (LAYERLAB_TEST_DEVICE=cuda)";
    torch::manual_seed(4);
    const auto opt = torch::TensorOptions().device(test::testDevice());
    const auto logits = (torch::randn({2, 40, 512}, opt) * 3).to(torch::kBFloat16);
    const auto ids = torch::randint(512, {2, 40}, opt.dtype(torch::kInt64));
    auto targets = torch::ones({2, 40}, opt.dtype(torch::kBool));
    targets.narrow(1, 0, 10).fill_(false);
    for (const auto& mask : {torch::Tensor(), targets}) {
        const auto fast = nextTokenLoss(logits, ids, mask);
        const auto reference = nextTokenLoss(logits, ids, mask, /*chunkRows=*/4096);
        EXPECT_EQ(fast.tokens, reference.tokens);
        EXPECT_NEAR(fast.sum, reference.sum, 1e-6 * reference.sum);
    }
}
