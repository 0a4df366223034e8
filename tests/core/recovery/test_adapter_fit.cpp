// Closed-form adapters against independent computations: least squares by torch's lstsq and
// SVD on the raw data, means taken from the captured residual stream, and the demo model's loss.

#include "eval/evaluation.h"
#include "recovery/adapter_fit.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

using namespace layerlab;
using test::demoDir;
using test::maxDiff;

TEST(AdapterFit, FullRankRecoversAnAffineMapAndRankRMatchesTheSvd) {
    torch::manual_seed(0);
    const int64_t n = 400, H = 8;
    auto x = torch::randn({n, H}, torch::kFloat64);
    auto m = torch::randn({H, H}, torch::kFloat64), c = torch::randn({H}, torch::kFloat64);
    auto y = torch::matmul(x, m) + c;
    AdapterFitOptions o;
    o.method = AdapterMethod::LowRank;
    o.rank = H;
    o.ridge = 0;
    auto a = fitFromStatistics(n, x.sum(0), y.sum(0), torch::matmul(x.t(), x), torch::matmul(x.t(), y), o);
    EXPECT_LT(maxDiff(torch::matmul(a.down, a.up), m), 1e-4);
    EXPECT_LT(maxDiff(a.bias, c), 1e-4);

    // Rank 2 with noise: reduced-rank regression by SVD of the centred fitted values.
    y = y + 0.5 * torch::randn({n, H}, torch::kFloat64);
    o.rank = 2;
    a = fitFromStatistics(n, x.sum(0), y.sum(0), torch::matmul(x.t(), x), torch::matmul(x.t(), y), o);
    auto xc = x - x.mean(0), yc = y - y.mean(0);
    auto w = std::get<0>(at::linalg_lstsq(xc, yc));
    auto v = std::get<2>(at::linalg_svd(torch::matmul(xc, w), false)).narrow(0, 0, 2).t(); // [H, 2]
    auto want = torch::matmul(w, torch::matmul(v, v.t()));
    EXPECT_LT(maxDiff(torch::matmul(a.down, a.up), want), 1e-4);
    EXPECT_LT(maxDiff(a.bias, y.mean(0) - torch::matmul(x.mean(0), want)), 1e-4);

    o.method = AdapterMethod::Bias;
    a = fitFromStatistics(n, x.sum(0), y.sum(0), {}, {}, o);
    EXPECT_LT(maxDiff(a.bias, y.mean(0)), 1e-6);
    EXPECT_FALSE(a.down.defined());
}

TEST(AdapterFit, ModelFitsMatchTheCapturedResidualStream) {
    auto model = Model::load(test::referenceDir("llama_gqa"), {test::testDevice(), torch::kFloat32});
    const auto windows = test::referenceWindows("llama_gqa");
    const int64_t H = model->config().hiddenSize;
    torch::InferenceMode inference;
    ResidualCapture capture(model->numLayers());
    auto ids =
        torch::stack({torch::tensor(windows[0].ids), torch::tensor(windows[1].ids)}).to(model->device());
    model->forward(ids, LayerMask(model->numLayers()), &capture);
    const auto in1 = capture.at(1, ResidualPoint::BlockInput),
               mid1 = capture.at(1, ResidualPoint::AfterAttention);
    const auto in2 = capture.at(2, ResidualPoint::BlockInput),
               out2 = capture.at(2, ResidualPoint::BlockOutput);

    AdapterFitOptions o;
    o.batchSize = 1; // two batches: the statistics must pool
    o.guard = false; // keep every fitted adapter
    const auto mask = LayerMask::parse("attn:1,block:2", model->numLayers());
    auto bias = fitAdapters(*model, windows, mask, o);
    ASSERT_EQ(bias.units.size(), 2u);
    for (const auto& a : bias.units) {
        const auto want = a.unit == Unit::Attention ? (mid1 - in1).reshape({-1, H}).mean(0)
                                                    : (out2 - in2).reshape({-1, H}).mean(0);
        EXPECT_LT(maxDiff(a.bias, want), 1e-5) << unitName(a.unit);
    }
}

TEST(AdapterFit, FullRankIsTheLeastSquaresAffineMap) {
    // The demo model (hidden 256) on 768 tokens: the affine map from attention 1's input to its
    // update, against torch's lstsq on the captured activations in float64.
    auto model = Model::load(demoDir(), {test::testDevice(), torch::kFloat32});
    const int64_t H = model->config().hiddenSize;
    TokenDataOptions d;
    d.windows.seqLen = 128;
    d.maxSequences = 6;
    const auto data = loadTokenData(demoDir() / "heldout.txt", Tokenizer::load(demoDir()), d);
    AdapterFitOptions o;
    o.method = AdapterMethod::LowRank;
    o.rank = H;
    o.ridge = 0;
    o.batchSize = 4;
    o.guard = false;
    const auto fit = fitAdapters(*model, data.windows, LayerMask::parse("attn:1", model->numLayers()), o);
    ASSERT_EQ(fit.units.size(), 1u);

    torch::InferenceMode inference;
    std::vector<torch::Tensor> rows;
    for (const auto& w : data.windows)
        rows.push_back(torch::tensor(w.ids));
    auto ids = torch::stack(rows).to(model->device());
    ResidualCapture capture(model->numLayers());
    model->forward(ids, LayerMask(model->numLayers()), &capture);
    const auto in = capture.at(1, ResidualPoint::BlockInput),
               mid = capture.at(1, ResidualPoint::AfterAttention);
    auto x = model->unitInput(Unit::Attention, 1, in).reshape({-1, H}).to(torch::kCPU, torch::kFloat64);
    auto y = (mid - in).reshape({-1, H}).to(torch::kCPU, torch::kFloat64);
    auto x1 = torch::cat({x, torch::ones({x.size(0), 1}, x.options())}, 1);
    auto sol = std::get<0>(at::linalg_lstsq(x1, y)); // [H + 1, H]: map, then intercept
    auto want = torch::matmul(x1, sol);
    auto got = torch::matmul(x, torch::matmul(fit.units[0].down.to(torch::kCPU, torch::kFloat64),
                                              fit.units[0].up.to(torch::kCPU, torch::kFloat64))) +
               fit.units[0].bias.to(torch::kCPU, torch::kFloat64);
    const double scale = y.abs().max().item<double>();
    EXPECT_LT(maxDiff(got, want), 1e-3 * scale);
}

TEST(AdapterFit, RecoveryNeverWorseThanRemovalOnTheDemoModel) {
    auto model = Model::load(demoDir(), {test::testDevice(), torch::kFloat32});
    const auto tokenizer = Tokenizer::load(demoDir());
    TokenDataOptions d;
    d.windows.seqLen = 128;
    d.maxSequences = 12;
    const auto data = loadTokenData(demoDir() / "heldout.txt", tokenizer, d);
    const auto mask = LayerMask::parse("attn:3,ffn:6,block:8", model->numLayers());
    const double removed = evaluateLoss(*model, data.windows, mask, {8, {}}).loss;
    const double full = evaluateLoss(*model, data.windows, LayerMask(model->numLayers()), {8, {}}).loss;
    for (auto method : {AdapterMethod::Bias, AdapterMethod::LowRank}) {
        AdapterFitOptions o;
        o.method = method;
        o.rank = 32;
        o.ridge = 1e-2;
        AdapterFitReport report;
        model->setAdapters(fitAdapters(*model, data.windows, mask, o, {}, &report));
        EXPECT_NEAR(report.removedLoss, removed, 1e-5);
        const double recovered = evaluateLoss(*model, data.windows, mask, {8, {}}).loss;
        // Adapters act only for removed units: the full model is unchanged.
        EXPECT_NEAR(evaluateLoss(*model, data.windows, LayerMask(model->numLayers()), {8, {}}).loss, full,
                    1e-6);
        std::cout << (method == AdapterMethod::Bias ? "bias" : "lowrank:32") << ": full " << full
                  << ", removed " << removed << ", recovered " << recovered << "\n";
        EXPECT_LE(recovered, removed + 1e-9);
        EXPECT_NEAR(recovered, report.recoveredLoss, 1e-5);
        if (method == AdapterMethod::LowRank) {
            EXPECT_LT(recovered, removed - 0.01);
        }
        // Without the guard the bias adapters of this removal set work against each other.
        if (method == AdapterMethod::Bias) {
            o.guard = false;
            model->setAdapters(fitAdapters(*model, data.windows, mask, o));
            std::cout << "bias without the guard: " << evaluateLoss(*model, data.windows, mask, {8, {}}).loss
                      << "\n";
        }
        model->setAdapters({});
    }
    EXPECT_NEAR(evaluateLoss(*model, data.windows, mask, {8, {}}).loss, removed, 1e-6);
}

TEST(AdapterFit, BadRequestsAreErrors) {
    auto model = Model::load(test::referenceDir("llama_gqa"), {torch::kCPU, torch::kFloat32});
    const auto windows = test::referenceWindows("llama_gqa");
    EXPECT_THROW(fitAdapters(*model, windows, LayerMask(model->numLayers()), {}), Error);
    AdapterFitOptions o;
    o.method = AdapterMethod::LowRank;
    o.rank = 0;
    EXPECT_THROW(fitAdapters(*model, windows, LayerMask::parse("attn:0", 4), o), Error);
}

TEST(AdapterFit, CancellingLeavesTheModelAsItWas) {
    auto model = Model::load(test::referenceDir("llama_gqa"), {torch::kCPU, torch::kFloat32});
    const auto windows = test::referenceWindows("llama_gqa");
    const auto mask = LayerMask::parse("ffn:2", model->numLayers());
    AdapterFitOptions o;
    o.batchSize = 1;
    const auto before = fitAdapters(*model, windows, mask, o);
    ASSERT_EQ(before.units.size(), 1u);
    model->setAdapters(before);
    CancelToken token;
    Progress progress(
        [&](const ProgressInfo& p) {
            if (p.done >= 1) token.cancel();
        },
        token);
    o.method = AdapterMethod::LowRank;
    o.rank = 4;
    EXPECT_THROW(
        fitAdapters(*model, windows, LayerMask::parse("attn:1,ffn:2", model->numLayers()), o, progress),
        Cancelled);
    ASSERT_EQ(model->adapters().units.size(), 1u);
    EXPECT_TRUE(torch::equal(model->adapters().units[0].bias, before.units[0].bias));
    EXPECT_EQ(model->adapters().units[0].layer, 2);
}
