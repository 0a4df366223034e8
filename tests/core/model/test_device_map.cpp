// Device maps: the split plan is checked against hand-worked byte counts, and a model spread
// over several placements must compute what the unsplit model computes, for every feature.
// On the CPU all placements are the CPU (the plumbing: ranges, restarts, adapters per layer);
// with LAYERLAB_TEST_DEVICE=cuda the placements alternate GPU, CPU, GPU, so the residual
// stream, masks, rotary tables, caches and adapters really cross devices.
#include "common/error.h"
#include "data/multiple_choice_task.h"
#include "data/token_batch.h"
#include "eval/evaluation.h"
#include "eval/generation.h"
#include "eval/multiple_choice_eval.h"
#include "importance/importance.h"
#include "importance/shapley.h"
#include "importance/taylor.h"
#include "model/device_map.h"
#include "recovery/adapter_fit.h"
#include "recovery/adapter_training.h"
#include "test_helpers.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

using namespace layerlab;
using test::demoDir;
using test::demoWindows;
using test::maxDiff;

namespace {

const torch::Device kCpu(torch::kCPU);

TEST(DeviceMap, EqualLayersSplitEvenlyWhenEmbeddingAndHeadWeighTheSame) {
    PlacementCosts c;
    c.embedding = 10;
    c.head = 10;
    c.activations = 1;
    c.layers = {4, 4, 4, 4};
    const auto m = planDeviceMap(c, {kCpu, kCpu});
    EXPECT_EQ(m.starts, (std::vector<int64_t>{0, 2, 4}));
    EXPECT_EQ(placementBytes(c, m), (std::vector<uint64_t>{19, 19})); // 11 + 8 each
    EXPECT_TRUE(m.split());
    EXPECT_EQ(m.describe(), "cpu layers 0-1 + embedding, cpu layers 2-3 + head");
}

TEST(DeviceMap, AHeavyEmbeddingLeavesTheFirstPlacementFewerLayers) {
    PlacementCosts c;
    c.embedding = 10;
    c.head = 2;
    c.layers = {4, 4, 4, 4};
    // k layers first: (10 + 4k, 2 + 4(4 - k)) -> k = 1 gives (14, 14), the smallest maximum.
    const auto m = planDeviceMap(c, {kCpu, kCpu});
    EXPECT_EQ(m.starts, (std::vector<int64_t>{0, 1, 4}));
    EXPECT_EQ(placementBytes(c, m), (std::vector<uint64_t>{14, 14}));
}

TEST(DeviceMap, OneHeavyLayerGetsAPlacementOfItsOwn) {
    PlacementCosts c;
    c.layers = {1, 1, 1, 1, 1, 1, 1, 10};
    const auto m = planDeviceMap(c, {kCpu, kCpu});
    EXPECT_EQ(m.starts, (std::vector<int64_t>{0, 7, 8}));
    EXPECT_EQ(placementBytes(c, m), (std::vector<uint64_t>{7, 10}));
    EXPECT_EQ(m.layers.size(), 8u);
}

TEST(DeviceMap, MorePlacementsThanLayersLeavesSomeWithoutLayers) {
    PlacementCosts c;
    c.embedding = 1;
    c.head = 1;
    c.layers = {5, 5};
    const auto m = planDeviceMap(c, {kCpu, kCpu, kCpu});
    EXPECT_EQ(m.starts, (std::vector<int64_t>{0, 1, 2, 2}));
    EXPECT_EQ(placementBytes(c, m), (std::vector<uint64_t>{6, 5, 1}));
    EXPECT_EQ(m.describe(), "cpu layer 0 + embedding, cpu layer 1, cpu + head");
}

TEST(DeviceMap, OneDeviceIsNoSplitAndNoneIsAnError) {
    PlacementCosts c;
    c.layers = {1, 2, 3};
    const auto m = planDeviceMap(c, {kCpu});
    EXPECT_FALSE(m.split());
    EXPECT_EQ(m.describe(), "cpu");
    EXPECT_EQ(m.layers.size(), 3u);
    EXPECT_THROW(planDeviceMap(c, {}), Error);
}

TEST(DeviceMap, DeviceListsParse) {
    EXPECT_EQ(parseDeviceList("cpu,cpu").size(), 2u);
    EXPECT_FALSE(parseDeviceList("auto").empty());
    EXPECT_THROW(parseDeviceList("cpu,,cpu"), Error);
    EXPECT_THROW(parseDeviceList("tpu:0"), Error);
    if (!torch::cuda::is_available()) {
        EXPECT_EQ(parseDeviceList("auto"), std::vector<torch::Device>{kCpu});
        EXPECT_THROW(parseDeviceList("cuda:0,cuda:1"), Error);
    }
}

TEST(DeviceMap, PlacementCostsCountTheDemoModelsTensorsByHand) {
    const auto c = ModelConfig::load(demoDir() / "config.json");
    ASSERT_EQ(c.hiddenSize, 256);
    ASSERT_EQ(c.intermediateSize, 1024);
    ASSERT_EQ(c.qDim(), 256);
    ASSERT_EQ(c.kvDim(), 64);
    const auto p = placementCosts(c, torch::kBFloat16, 100);
    // Norms 2 x 256, q and o 2 x 256 x 256, k and v 2 x 64 x 256, gate, up, down 3 x 1024 x 256.
    const uint64_t layer = 2 * 256 + 2 * 256 * 256 + 2 * 64 * 256 + 3 * 1024 * 256;
    ASSERT_EQ(p.layers.size(), 10u);
    for (auto b : p.layers)
        EXPECT_EQ(b, 2 * layer);
    const auto V = static_cast<uint64_t>(c.vocabSize);
    EXPECT_EQ(p.embedding, 2 * V * 256);
    EXPECT_EQ(p.head, 2 * (256 + V * 256)); // untied: final norm + lm_head
    EXPECT_EQ(p.logits, 100 * V * (2 + 4));
    EXPECT_EQ(p.activations, 100u * 2 * (2 * 256 + 256 + 2 * 64 + 256 + 3 * 1024));
}

// GPU, CPU, GPU on a device machine; three CPU placements otherwise.
std::vector<torch::Device> placements() {
    auto d = test::testDevice();
    if (d.is_cuda() && !d.has_index()) d = torch::Device(torch::kCUDA, 0);
    return {d, kCpu, d};
}

double tolerance() {
    return test::testDevice().is_cpu() ? 0.0 : 2e-4;
}

struct SplitPair {
    std::shared_ptr<Model> whole, split;
};

SplitPair loadPair() {
    LoadOptions o{test::testDevice(), torch::kFloat32};
    auto whole = Model::load(demoDir(), o);
    o.devices = placements();
    o.activationTokens = 64;
    o.loadThreads = 3;
    auto split = Model::load(demoDir(), o);
    return {whole, split};
}

void expectScoresEqual(const ImportanceScores& a, const ImportanceScores& b, double tol) {
    ASSERT_EQ(a.scores.size(), b.scores.size());
    for (const auto& [name, units] : a.scores)
        for (size_t u = 0; u < 3; ++u) {
            const auto& values = units.byUnit[u];
            const auto& other = b.scores.at(name).byUnit[u];
            ASSERT_EQ(values.size(), other.size()) << name;
            for (size_t i = 0; i < values.size(); ++i)
                EXPECT_NEAR(values[i], other[i], tol + 1e-6 * std::abs(values[i])) << name << " " << i;
        }
}

TEST(SplitModel, PlacesLayersInRangesAndComputesTheSameLogits) {
    const auto [whole, split] = loadPair();
    const auto& m = split->deviceMap();
    ASSERT_TRUE(m.split());
    ASSERT_EQ(m.starts.size(), 4u);
    EXPECT_EQ(m.starts.front(), 0);
    EXPECT_EQ(m.starts.back(), 10);
    // Every placement holds layers, so on a GPU machine the stream really crosses to the CPU and back.
    EXPECT_LT(m.starts[0], m.starts[1]);
    EXPECT_LT(m.starts[1], m.starts[2]);
    EXPECT_LT(m.starts[2], m.starts[3]);
    for (int64_t l = 0; l < 10; ++l) {
        const size_t p =
            static_cast<size_t>(std::upper_bound(m.starts.begin(), m.starts.end(), l) - m.starts.begin() - 1);
        EXPECT_EQ(split->layerDevice(l), placements()[p]) << l;
        EXPECT_EQ(split->layer(l).q.device(), placements()[p]) << l;
    }
    EXPECT_EQ(split->outputDevice(), placements().back());
    EXPECT_EQ(split->lmHead().device(), placements().back());

    const auto windows = demoWindows(2, 48);
    auto ids = torch::stack({torch::tensor(windows[0].ids), torch::tensor(windows[1].ids)});
    torch::NoGradGuard noGrad;
    LayerMask mask(10);
    mask.remove(Unit::Attention, 4);
    mask.remove(Unit::Block, 8);
    EXPECT_LE(maxDiff(whole->forward(ids, mask), split->forward(ids, mask)), tolerance());
    // Left padding: the attention masks are needed on every placement.
    auto attention = torch::ones_like(ids);
    attention.index_put_({0, torch::indexing::Slice(0, 5)}, 0);
    EXPECT_LE(
        maxDiff(whole->forward(ids, mask, nullptr, attention), split->forward(ids, mask, nullptr, attention)),
        tolerance());
}

TEST(SplitModel, EvaluationImportanceAndGenerationMatchTheUnsplitModel) {
    const auto [whole, split] = loadPair();
    const auto windows = demoWindows(3, 32);
    LayerMask mask(10);
    mask.remove(Unit::Ffn, 2);
    const auto a = evaluateLoss(*whole, windows, mask, {2, {}});
    const auto b = evaluateLoss(*split, windows, mask, {2, {}});
    EXPECT_NEAR(a.loss, b.loss, tolerance());

    ResidualMetricsOptions ro;
    ro.batchSize = 2;
    ro.angularN = 2;
    expectScoresEqual(residualMetrics(*whole, windows, ro).scores,
                      residualMetrics(*split, windows, ro).scores, tolerance());
    ImportanceOptions io;
    io.batchSize = 2;
    for (auto value : {ValueFunction::Loss, ValueFunction::Kl}) {
        io.value = value;
        expectScoresEqual(dropLoss(*whole, windows, {Unit::Attention, Unit::Block}, io),
                          dropLoss(*split, windows, {Unit::Attention, Unit::Block}, io), tolerance());
    }
    ShapleyOptions so;
    so.batchSize = 2;
    so.unit = Unit::Attention;
    so.forceMonteCarlo = true;
    so.minPairs = so.maxPairs = 2;
    so.seed = 3;
    expectScoresEqual(shapley(*whole, windows, so).scores, shapley(*split, windows, so).scores, tolerance());
    expectScoresEqual(taylor(*whole, windows, io), taylor(*split, windows, io), tolerance() * 10);

    const auto tokenizer = Tokenizer::load(demoDir());
    MultipleChoiceOptions mo;
    mo.maxItems = 3;
    const auto task = loadMultipleChoiceTask(demoDir() / "next_verse.jsonl", mo);
    const auto ma = evaluateMultipleChoice(*whole, tokenizer, task, mask, {4});
    const auto mb = evaluateMultipleChoice(*split, tokenizer, task, mask, {4});
    for (size_t i = 0; i < ma.scores.size(); ++i)
        for (size_t c = 0; c < ma.scores[i].size(); ++c)
            EXPECT_NEAR(ma.scores[i][c].logLikelihood, mb.scores[i][c].logLikelihood, tolerance() * 10);

    GenerationOptions go;
    go.maxNewTokens = 8;
    const auto prompt = tokenizer.encode("In the beginning", true);
    EXPECT_EQ(generate(*whole, prompt, mask, go).tokens, generate(*split, prompt, mask, go).tokens);
}

TEST(SplitModel, AdaptersAreFittedTrainedAndAppliedOnTheirLayersDevice) {
    auto [whole, split] = loadPair();
    const auto windows = demoWindows(2, 32);
    LayerMask removed(10);
    removed.remove(Unit::Attention, 3);
    removed.remove(Unit::Block, 7);
    AdapterFitOptions fo;
    fo.method = AdapterMethod::LowRank;
    fo.rank = 4;
    fo.guard = false;
    // More tokens (384) than hidden dimensions (256): the fit is determined by its data.
    const auto fitWindows = demoWindows(4, 96);
    const auto fa = fitAdapters(*whole, fitWindows, removed, fo);
    const auto fb = fitAdapters(*split, fitWindows, removed, fo);
    ASSERT_EQ(fa.units.size(), fb.units.size());
    if (tolerance() == 0) { // the same arithmetic on every placement: the same parameters
        for (size_t i = 0; i < fa.units.size(); ++i) {
            EXPECT_LE(maxDiff(fa.units[i].down.mm(fa.units[i].up), fb.units[i].down.mm(fb.units[i].up)),
                      1e-6);
            EXPECT_LE(maxDiff(fa.units[i].bias, fb.units[i].bias), 1e-6);
        }
    }
    // On a GPU the statistics are rounded differently on each placement, and the fit (a ridge
    // solve, ridge 1e-4) magnifies that by up to 1 / ridge in the directions the data barely
    // constrain: the parameters may differ there. What the adapters predict for the data may not,
    // beyond the placements' own difference.
    whole->setAdapters(fa);
    split->setAdapters(fb);
    {
        torch::InferenceMode inference;
        const auto ids = batchTensor(fitWindows);
        EXPECT_LE(maxDiff(whole->forward(ids, removed), split->forward(ids, removed)),
                  tolerance() * 10 + 1e-6);
    }
    whole->setAdapters({});
    split->setAdapters({});

    AdapterTrainingOptions to;
    to.steps = 2;
    to.batchSize = 2;
    to.loraRank = 2;
    AdapterTrainingReport ra, rb;
    const auto ta = trainAdapters(*whole, windows, removed, to, {}, &ra);
    const auto tb = trainAdapters(*split, windows, removed, to, {}, &rb);
    ASSERT_EQ(ra.losses.size(), 2u);
    for (size_t i = 0; i < ra.losses.size(); ++i)
        EXPECT_NEAR(ra.losses[i], rb.losses[i], tolerance() * 10);
    split->setAdapters(tb);
    whole->setAdapters(ta);
    for (const auto& a : split->adapters().units)
        EXPECT_EQ(a.bias.device(), split->layerDevice(a.layer));
    for (const auto& a : split->adapters().lora)
        EXPECT_EQ(a.down.device(), split->layerDevice(a.layer));
    EXPECT_NEAR(evaluateLoss(*whole, windows, removed, {2, {}}).loss,
                evaluateLoss(*split, windows, removed, {2, {}}).loss, tolerance() * 10);
}

} // namespace
