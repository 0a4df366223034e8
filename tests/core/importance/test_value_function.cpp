// Value functions other than the loss: drop-one logit_l2 and kl against transformers
// (tests/data/reference/<variant>/reference.json, drop_one, float64), and the Shapley game under
// them (efficiency: the values add up to v(all) - v(none), here measured directly).

#include "importance/importance.h"
#include "importance/shapley.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

#include <numeric>

using namespace layerlab;

namespace {

class ValueFunctionReference : public ::testing::TestWithParam<std::string> {};

} // namespace

TEST_P(ValueFunctionReference, DropOneDistancesMatchTransformers) {
    const auto variant = GetParam();
    const auto ref = test::readJson(test::referenceDir(variant) / "reference.json");
    auto model = Model::load(test::referenceDir(variant), {test::testDevice(), torch::kFloat32});
    for (auto [function, key] :
         {std::pair{ValueFunction::LogitL2, "logit_l2"}, std::pair{ValueFunction::Kl, "kl"}}) {
        ImportanceOptions options;
        options.batchSize = 1; // two batches: the pooling must be exact
        options.value = function;
        const auto r = dropLoss(*model, test::referenceWindows(variant),
                                {Unit::Block, Unit::Attention, Unit::Ffn}, options);
        EXPECT_NEAR(r.fullLoss, 0.0, 1e-6) << key; // the full model's distance from itself
        const std::string metric = std::string("drop_") + key;
        for (Unit u : {Unit::Block, Unit::Attention, Unit::Ffn}) {
            const auto& v = r.scores.at(metric)[u];
            ASSERT_EQ(v.size(), static_cast<size_t>(model->numLayers())) << metric;
            for (int64_t l = 0; l < model->numLayers(); ++l) {
                const double want = ref["drop_one"][unitName(u)][key][l].get<double>();
                EXPECT_NEAR(v[l], want, 1e-4 * std::max(1.0, std::abs(want)))
                    << metric << " " << unitName(u) << ":" << l;
            }
        }
    }
}

INSTANTIATE_TEST_SUITE_P(Variants, ValueFunctionReference,
                         ::testing::Values("llama_gqa", "qwen2_tied", "mistral_window"));

TEST(ValueFunction, ShapleyUnderKlAddsUpToTheDistanceOfTheEmptyModel) {
    auto model = Model::load(test::referenceDir("llama_gqa"), {test::testDevice(), torch::kFloat32});
    const auto windows = test::referenceWindows("llama_gqa");
    ShapleyOptions o;
    o.value = ValueFunction::Kl;
    o.unit = Unit::Attention;
    const auto r = shapley(*model, windows, o);
    const auto& phi = r.scores.scores.at("shapley_kl")[Unit::Attention];
    EXPECT_NEAR(r.valueAll, 0.0, 1e-6);
    // v(none) measured directly: every attention removed.
    LayerMask none(model->numLayers());
    for (int64_t l = 0; l < model->numLayers(); ++l)
        none.remove(Unit::Attention, l);
    ImportanceBatch batch{
        torch::stack({torch::tensor(windows[0].ids), torch::tensor(windows[1].ids)}).to(model->device()),
        torch::ones({2, 24}, torch::kBool).to(model->device())};
    torch::InferenceMode inference;
    const BatchScorer score(ValueFunction::Kl, *model, batch);
    const double klNone = score(model->forward(batch.ids, none)).mean();
    EXPECT_NEAR(r.valueNone, -klNone, 1e-5);
    EXPECT_NEAR(std::accumulate(phi.begin(), phi.end(), 0.0), klNone, 1e-5);
}

TEST(ValueFunction, NamesRoundTrip) {
    for (auto f : {ValueFunction::Loss, ValueFunction::LogitL2, ValueFunction::Kl, ValueFunction::TaskLoss})
        EXPECT_EQ(parseValueFunction(valueFunctionName(f)), f);
    EXPECT_THROW(parseValueFunction("mse"), Error);
    EXPECT_EQ(metricName("drop_loss", ValueFunction::Kl), "drop_kl");
    EXPECT_EQ(metricName("shapley", ValueFunction::Loss), "shapley");
    EXPECT_EQ(metricName("present_absent", ValueFunction::TaskLoss), "present_absent_task_loss");
}

// A chunk of positions at a time gives each position what the whole tensor gives it, with the
// scored positions starting inside a chunk.
TEST(ValueFunction, DistancesChunkedByPositionEqualTheWholeBatch) {
    auto model = Model::load(test::referenceDir("llama_gqa"), {test::testDevice(), torch::kFloat32});
    const auto windows = test::referenceWindows("llama_gqa");
    auto targets = torch::ones({2, 24}, torch::kBool);
    targets[0].narrow(0, 0, 10).fill_(false); // scored from position 10 (predicted at 9)
    targets[1].narrow(0, 0, 3).fill_(false);
    ImportanceBatch batch{
        torch::stack({torch::tensor(windows[0].ids), torch::tensor(windows[1].ids)}).to(model->device()),
        targets.to(model->device())};
    LayerMask mask(model->numLayers());
    mask.remove(Unit::Block, 1);
    torch::InferenceMode inference;
    const auto logits = model->forward(batch.ids, mask);
    const int64_t positions = batch.ids.numel();
    for (auto f : {ValueFunction::LogitL2, ValueFunction::Kl}) {
        const auto whole = BatchScorer(f, *model, batch, {}, positions)(logits);
        const auto chunked = BatchScorer(f, *model, batch, {}, 5)(logits);
        EXPECT_EQ(whole.tokens, (24 - 9) + (24 - 2)) << valueFunctionName(f);
        EXPECT_EQ(chunked.tokens, whole.tokens);
        EXPECT_GT(whole.sum, 0.0) << valueFunctionName(f);
        EXPECT_NEAR(chunked.sum, whole.sum, 1e-6 * whole.sum) << valueFunctionName(f);
    }
}
