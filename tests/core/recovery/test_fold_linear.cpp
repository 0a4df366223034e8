// fold-linear (ReplaceMe) against independent computations: torch's lstsq on the captured
// residual stream, and the export folded into down_proj read back as a plain checkpoint.

#include "eval/evaluation.h"
#include "export/checkpoint_export.h"
#include "recovery/fold_linear.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

using namespace layerlab;
using test::demoDir;
using test::maxDiff;

TEST(FoldLinear, RunsOfWholeBlocksAndWhatItRefuses) {
    const auto runs = removedBlockRuns(LayerMask::parse("block:2-3,block:6", 10));
    ASSERT_EQ(runs.size(), 2u);
    EXPECT_EQ(runs[0], std::make_pair(int64_t{2}, int64_t{3}));
    EXPECT_EQ(runs[1], std::make_pair(int64_t{6}, int64_t{6}));
    EXPECT_NE(test::errorOf([] { removedBlockRuns(LayerMask::parse("block:3,attn:5", 10)); }).find("layer 5"),
              std::string::npos);
    EXPECT_NE(test::errorOf([] { removedBlockRuns(LayerMask::parse("block:0-1", 10)); }).find("block 0"),
              std::string::npos);
    EXPECT_NE(test::errorOf([] { removedBlockRuns(LayerMask(10)); }).find("no block is removed"),
              std::string::npos);
}

TEST(FoldLinear, MapIsTheLeastSquaresSolution) {
    torch::manual_seed(0);
    const int64_t n = 300, H = 6;
    auto f = torch::randn({n, H}, torch::kFloat64);
    auto m = torch::randn({H, H}, torch::kFloat64);
    auto t = torch::matmul(f, m);
    EXPECT_LT(maxDiff(foldLinearMap(n, torch::matmul(f.t(), f), torch::matmul(f.t(), t), 0), m), 1e-8);
    t = t + 0.3 * torch::randn({n, H}, torch::kFloat64);
    auto want = std::get<0>(at::linalg_lstsq(f, t));
    EXPECT_LT(maxDiff(foldLinearMap(n, torch::matmul(f.t(), f), torch::matmul(f.t(), t), 0), want), 1e-8);
}

TEST(FoldLinear, FitsTheCapturedStreamAndExportsAsAPlainCheckpoint) {
    // The demo model with blocks 5-6 removed: the map from block 4's FFN output to what blocks 5-6
    // and that output add, against lstsq on the captured activations in float64.
    auto model = Model::load(demoDir(), {test::testDevice(), torch::kFloat32});
    const int64_t H = model->config().hiddenSize;
    TokenDataOptions d;
    d.windows.seqLen = 128;
    d.maxSequences = 8;
    const auto data = loadTokenData(demoDir() / "heldout.txt", Tokenizer::load(demoDir()), d);
    const auto mask = LayerMask::parse("block:5-6", model->numLayers());
    FoldLinearOptions o;
    o.ridge = 0;
    o.batchSize = 3; // several batches: the statistics must pool
    o.guard = false;
    const auto fit = fitFoldLinear(*model, data.windows, mask, o);
    ASSERT_TRUE(fit.units.empty());
    ASSERT_EQ(fit.lora.size(), 1u);
    const auto& a = fit.lora[0];
    EXPECT_EQ(a.layer, 4);
    EXPECT_EQ(a.projection, Projection::Down);
    EXPECT_TRUE(model->adapters().empty()); // the model's own adapters are left as they were

    {
        torch::InferenceMode inference;
        std::vector<torch::Tensor> rows;
        for (const auto& w : data.windows)
            rows.push_back(torch::tensor(w.ids));
        ResidualCapture capture(model->numLayers());
        model->forward(torch::stack(rows).to(model->device()), LayerMask(model->numLayers()), &capture);
        auto flat = [&](const torch::Tensor& t) {
            return t.reshape({-1, H}).to(torch::kCPU, torch::kFloat64);
        };
        const auto mid = flat(capture.at(4, ResidualPoint::AfterAttention));
        const auto f = flat(capture.at(4, ResidualPoint::BlockOutput)) - mid;
        const auto y = flat(capture.at(6, ResidualPoint::BlockOutput));
        const auto want = std::get<0>(at::linalg_lstsq(f, y - mid));
        const auto got = a.up.to(torch::kFloat64) + torch::eye(H, torch::kFloat64);
        EXPECT_LT(maxDiff(torch::matmul(f, got), torch::matmul(f, want)),
                  1e-3 * y.abs().max().item<double>());
        EXPECT_EQ(maxDiff(a.down, model->layer(4).down.t()), 0.0);
    }

    // Installed, the map recovers part of the loss; exported as hf, the checkpoint has 8 plain layers
    // (no adapters) and computes what the model with the map computes.
    const double removed = evaluateLoss(*model, data.windows, mask, {8, {}}).loss;
    model->setAdapters(fit);
    const double folded = evaluateLoss(*model, data.windows, mask, {8, {}}).loss;
    EXPECT_LT(folded, removed);

    test::TempDir tmp;
    ExportRequest r;
    r.out = tmp.path() / "folded";
    r.mask = mask;
    r.format = ExportFormat::HuggingFace;
    r.dtype = torch::kFloat32;
    const auto result = exportCheckpoint(*model, r);
    EXPECT_EQ(result.numLayers, model->numLayers() - 2);
    const auto config = test::readJson(r.out / "config.json");
    EXPECT_EQ(config["architectures"][0], "LlamaForCausalLM");
    auto exported = Model::load(r.out, {test::testDevice(), torch::kFloat32});
    EXPECT_TRUE(exported->adapters().empty());
    torch::InferenceMode inference;
    auto ids = torch::tensor(data.windows[0].ids).unsqueeze(0).to(model->device());
    auto want = model->forward(ids, mask);
    auto got = exported->forward(ids, LayerMask(exported->numLayers()));
    EXPECT_LT(maxDiff(got, want), 1e-3);
}
