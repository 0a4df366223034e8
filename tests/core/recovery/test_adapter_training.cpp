// Learned adapters: LoRA corrections against a checkpoint with the update merged into its weights,
// the loss falling on the demo model, and cancellation leaving the model as it was.
#include "data/token_batch.h"
#include "eval/evaluation.h"
#include "io/safetensors.h"
#include "recovery/adapter_training.h"
#include "test_helpers.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

using namespace layerlab;
using test::demoDir;
using test::maxDiff;

namespace {

std::vector<TokenWindow> demoWindows(int64_t count) {
    TokenDataOptions d;
    d.windows.seqLen = 64;
    d.maxSequences = count;
    return loadTokenData(demoDir() / "heldout.txt", Tokenizer::load(demoDir()), d).windows;
}

} // namespace

TEST(AdapterTraining, LoraEqualsTheMergedWeights) {
    // A LoRA correction on q of layer 1 and on down of layer 2 must compute what a checkpoint
    // whose weights carry W + (down up)^T computes.
    test::TempDir dir;
    test::copyCheckpoint("llama_gqa", dir.path());
    auto model = Model::load(dir.path(), {test::testDevice(), torch::kFloat32});
    const auto& c = model->config();
    torch::manual_seed(3);
    AdapterSet lora;
    for (auto [layer, p] : {std::pair{1, Projection::Q}, std::pair{2, Projection::Down}}) {
        const auto [out, in] = projectionShape(c, p);
        lora.lora.push_back({layer, p, torch::randn({in, 3}) * 0.1, torch::randn({3, out}) * 0.1});
    }
    model->setAdapters(lora);
    const auto ids = batchTensor(test::referenceWindows("llama_gqa")).to(model->device());
    torch::InferenceMode inference;
    const auto withLora = model->forward(ids, LayerMask(c.numLayers));

    {
        const auto file = SafetensorsFile::open(dir / "model.safetensors");
        std::vector<std::pair<std::string, torch::Tensor>> tensors;
        for (const auto& info : file.tensors()) {
            auto t = file.tensor(info).clone();
            if (info.name == "model.layers.1.self_attn.q_proj.weight")
                t += torch::matmul(lora.lora[0].down, lora.lora[0].up).t();
            if (info.name == "model.layers.2.mlp.down_proj.weight")
                t += torch::matmul(lora.lora[1].down, lora.lora[1].up).t();
            tensors.emplace_back(info.name, t);
        }
        writeSafetensors(dir / "merged.tmp", tensors, {{"format", "pt"}});
    }
    std::filesystem::rename(dir / "merged.tmp", dir / "model.safetensors");
    auto merged = Model::load(dir.path(), {test::testDevice(), torch::kFloat32});
    const auto want = merged->forward(ids, LayerMask(c.numLayers));
    EXPECT_LT(maxDiff(withLora, want), 1e-4);
    // The correction matters (the test would pass trivially otherwise), and goes away again.
    model->setAdapters({});
    EXPECT_GT(maxDiff(model->forward(ids, LayerMask(c.numLayers)), want), 1e-3);
}

TEST(AdapterTraining, LossFallsOnTheDemoModel) {
    auto model = Model::load(demoDir(), {test::testDevice(), torch::kFloat32});
    const auto windows = demoWindows(8);
    const auto mask = LayerMask::parse("attn:3,ffn:6", model->numLayers());
    const double removed = evaluateLoss(*model, windows, mask, {8, {}}).loss;
    struct Case {
        const char* name;
        AdapterTrainingOptions o;
    };
    std::vector<Case> cases(3);
    cases[0].name = "learned-bias from zero";
    cases[0].o.initFromFit = false;
    cases[0].o.learningRate = 3e-3;
    cases[1].name = "learned-lowrank:8 from zero";
    cases[1].o.initFromFit = false;
    cases[1].o.method = AdapterMethod::LowRank;
    cases[1].o.rank = 8;
    cases[1].o.learningRate = 3e-3;
    cases[2].name = "lora:4 only";
    cases[2].o.standIns = false;
    cases[2].o.loraRank = 4;
    cases[2].o.learningRate = 3e-3;
    for (auto& [name, o] : cases) {
        o.steps = 25;
        o.batchSize = 2;
        std::vector<AdapterTrainingStep> steps;
        o.onStep = [&](const AdapterTrainingStep& s) { steps.push_back(s); };
        AdapterTrainingReport report;
        const auto trained = trainAdapters(*model, windows, mask, o, {}, &report);
        ASSERT_EQ(report.losses.size(), 25u) << name;
        ASSERT_EQ(steps.size(), 25u) << name;
        EXPECT_EQ(steps.back().step, 25);
        EXPECT_EQ(steps.back().tokens, report.tokens);
        EXPECT_GT(report.trainableParameters, 0);
        // The model is untouched by training itself.
        EXPECT_TRUE(model->adapters().empty()) << name;
        model->setAdapters(trained);
        const double after = evaluateLoss(*model, windows, mask, {8, {}}).loss;
        std::cout << name << ": removed " << removed << ", trained " << after << " (first step "
                  << report.losses.front() << ", last " << report.losses.back() << ")\n";
        EXPECT_LT(after, removed - 0.005) << name;
        model->setAdapters({});
    }
}

TEST(AdapterTraining, StartsFromTheClosedFormFit) {
    auto model = Model::load(demoDir(), {test::testDevice(), torch::kFloat32});
    const auto windows = demoWindows(8);
    const auto mask = LayerMask::parse("attn:2", model->numLayers());
    AdapterFitOptions f;
    f.guard = false;
    f.batchSize = 4;
    const auto fitted = fitAdapters(*model, windows, mask, f);
    AdapterTrainingOptions o;
    o.steps = 1;
    o.learningRate = 1e-12; // one step that moves nothing
    const auto trained = trainAdapters(*model, windows, mask, o);
    ASSERT_EQ(trained.units.size(), 1u);
    EXPECT_LT(maxDiff(trained.units[0].bias, fitted.units[0].bias), 1e-6);
}

TEST(AdapterTraining, CancellingLeavesTheModelAsItWas) {
    auto model = Model::load(demoDir(), {test::testDevice(), torch::kFloat32});
    const auto windows = demoWindows(8);
    const auto mask = LayerMask::parse("ffn:4", model->numLayers());
    AdapterFitOptions f;
    f.guard = false;
    const auto installed = fitAdapters(*model, windows, mask, f);
    model->setAdapters(installed);
    const auto ids = batchTensor(std::span(windows).first(2)).to(model->device());
    torch::Tensor before;
    {
        torch::InferenceMode inference;
        before = model->forward(ids, mask);
    }
    CancelToken token;
    AdapterTrainingOptions o;
    o.method = AdapterMethod::LowRank;
    o.rank = 4;
    o.loraRank = 2;
    o.steps = 50;
    o.learningRate = 1e-2;
    o.onStep = [&](const AdapterTrainingStep& s) {
        if (s.step == 3) token.cancel();
    };
    EXPECT_THROW(trainAdapters(*model, windows, LayerMask::parse("attn:1,ffn:4", model->numLayers()), o,
                               Progress({}, token)),
                 Cancelled);
    ASSERT_EQ(model->adapters().units.size(), 1u);
    EXPECT_TRUE(model->adapters().lora.empty());
    torch::InferenceMode inference;
    EXPECT_EQ(maxDiff(model->forward(ids, mask), before), 0.0);
}

TEST(AdapterTraining, BadRequestsAreErrors) {
    auto model = Model::load(test::referenceDir("llama_gqa"), {torch::kCPU, torch::kFloat32});
    const auto windows = test::referenceWindows("llama_gqa");
    const auto mask = LayerMask::parse("attn:1", model->numLayers());
    AdapterTrainingOptions o;
    EXPECT_THROW(trainAdapters(*model, windows, LayerMask(model->numLayers()), o), Error); // nothing removed
    EXPECT_THROW(trainAdapters(*model, {}, mask, o), Error);
    o.steps = 0;
    EXPECT_THROW(trainAdapters(*model, windows, mask, o), Error);
    o.steps = 1;
    o.learningRate = 0;
    EXPECT_THROW(trainAdapters(*model, windows, mask, o), Error);
    o.learningRate = 1e-3;
    o.standIns = false;
    EXPECT_THROW(trainAdapters(*model, windows, mask, o), Error); // neither stand-ins nor LoRA
    o.loraRank = 100000;
    EXPECT_THROW(trainAdapters(*model, windows, mask, o), Error);
}
