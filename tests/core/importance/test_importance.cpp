// Residual-stream metrics and drop-one loss against what transformers computed in float64
// (tests/data/reference/<variant>/reference.json: unit_stats and drop_one).

#include "importance/importance.h"
#include "io/safetensors.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numbers>

using namespace layerlab;

namespace {

const std::vector<std::string> kVariants = {"llama_gqa", "qwen2_tied", "mistral_window"};
const Unit kUnits[] = {Unit::Block, Unit::Attention, Unit::Ffn};

class ImportanceReference : public ::testing::TestWithParam<std::string> {};

} // namespace

TEST_P(ImportanceReference, ResidualMetricsMatchTransformers) {
    const auto variant = GetParam();
    const auto ref = test::readJson(test::referenceDir(variant) / "reference.json");
    auto model = Model::load(test::referenceDir(variant), {test::testDevice(), torch::kFloat32});
    ResidualMetricsOptions options;
    options.batchSize = 1; // two batches: the sums must pool exactly
    options.angularN = 1;
    const auto r = residualMetrics(*model, test::referenceWindows(variant), options);
    EXPECT_EQ(r.scores.positions, 48);
    EXPECT_NEAR(r.scores.fullLoss, ref["losses"]["none"].get<double>(), 1e-5);
    double worstCosine = 0, worstNormRel = 0;
    for (Unit u : kUnits) {
        const auto& cosine = r.scores.scores.at("cosine")[u];
        ASSERT_EQ(cosine.size(), static_cast<size_t>(model->numLayers()));
        for (int64_t l = 0; l < model->numLayers(); ++l) {
            SCOPED_TRACE(std::string(unitName(u)) + ":" + std::to_string(l));
            const double wantCosine = ref["unit_stats"]["cosine"][unitName(u)][l].get<double>();
            EXPECT_NEAR(cosine[l], wantCosine, 1e-4);
            worstCosine = std::max(worstCosine, std::abs(cosine[l] - wantCosine));
            for (const char* norm : {"l1_update", "l2_update", "rel_l1_update", "rel_l2_update"}) {
                const double want = ref["unit_stats"][norm][unitName(u)][l].get<double>();
                EXPECT_NEAR(r.scores.scores.at(norm)[u][l], want, 1e-4 * std::abs(want)) << norm;
                worstNormRel = std::max(worstNormRel, std::abs(r.scores.scores.at(norm)[u][l] / want - 1));
            }
        }
    }
    std::cout << variant << ": max |cosine - transformers| " << worstCosine << ", max relative norm error "
              << worstNormRel << "\n";
    // n = 1 compares each block's input with its output: arccos(1 - cosine) / pi is not the mean
    // of the angles, but it is ordered the same for these models and bounded by [0, 1].
    const auto& angular = r.scores.scores.at("angular")[Unit::Block];
    ASSERT_EQ(angular.size(), static_cast<size_t>(model->numLayers()));
    for (double a : angular) {
        EXPECT_GE(a, 0.0);
        EXPECT_LE(a, 1.0);
    }
    EXPECT_EQ(r.bestAngularStart, std::min_element(angular.begin(), angular.end()) - angular.begin());
}

TEST_P(ImportanceReference, DropLossMatchesTransformers) {
    const auto variant = GetParam();
    const auto ref = test::readJson(test::referenceDir(variant) / "reference.json");
    auto model = Model::load(test::referenceDir(variant), {test::testDevice(), torch::kFloat32});
    ImportanceOptions options;
    options.batchSize = 1;
    const auto r =
        dropLoss(*model, test::referenceWindows(variant), {Unit::Block, Unit::Attention, Unit::Ffn}, options);
    const double none = ref["losses"]["none"].get<double>();
    EXPECT_NEAR(r.fullLoss, none, 1e-5);
    double worst = 0;
    for (Unit u : kUnits) {
        const auto& v = r.scores.at("drop_loss")[u];
        ASSERT_EQ(v.size(), static_cast<size_t>(model->numLayers()));
        for (int64_t l = 0; l < model->numLayers(); ++l) {
            const double want = ref["drop_one"][unitName(u)]["loss"][l].get<double>() - none;
            EXPECT_NEAR(v[l], want, 1e-4) << unitName(u) << ":" << l;
            worst = std::max(worst, std::abs(v[l] - want));
        }
    }
    std::cout << variant << ": max |drop_loss - transformers| " << worst << ", passes " << r.forwardPasses
              << " vs naive " << r.naiveForwardPasses << "\n";
    // Restarting mid-model: fewer layers run than 1 + 3L full passes per batch would need.
    EXPECT_LT(r.forwardPasses, r.naiveForwardPasses);
}

INSTANTIATE_TEST_SUITE_P(Variants, ImportanceReference, ::testing::ValuesIn(kVariants));

TEST(ImportanceAngular, WholeModelSpanAndBestRun) {
    // n = L: one entry, the angle between the embedding output and the last block's output.
    auto model = Model::load(test::referenceDir("llama_gqa"), {test::testDevice(), torch::kFloat32});
    const auto windows = test::referenceWindows("llama_gqa");
    ResidualMetricsOptions options;
    options.angularN = model->numLayers();
    auto r = residualMetrics(*model, windows, options);
    ASSERT_EQ(r.scores.scores.at("angular")[Unit::Block].size(), 1u);
    EXPECT_EQ(r.bestAngularStart, 0);
    // Against a direct computation from the captured residual stream.
    torch::NoGradGuard noGrad;
    ResidualCapture capture(model->numLayers());
    auto ids =
        torch::stack({torch::tensor(windows[0].ids), torch::tensor(windows[1].ids)}).to(model->device());
    model->forward(ids, LayerMask(model->numLayers()), &capture);
    auto cos = torch::cosine_similarity(capture.at(0, ResidualPoint::BlockInput),
                                        capture.at(model->numLayers() - 1, ResidualPoint::BlockOutput), -1);
    const double want = (torch::acos(cos.to(torch::kFloat64)) / std::numbers::pi).mean().item<double>();
    EXPECT_NEAR(r.scores.scores.at("angular")[Unit::Block][0], want, 1e-5);
    // n = 2 on a 4-layer model: 3 starting layers, best = the minimum.
    options.angularN = 2;
    r = residualMetrics(*model, windows, options);
    const auto& a = r.scores.scores.at("angular")[Unit::Block];
    ASSERT_EQ(a.size(), 3u);
    EXPECT_EQ(r.bestAngularStart, std::min_element(a.begin(), a.end()) - a.begin());
    options.angularN = model->numLayers() + 1;
    EXPECT_ANY_THROW(residualMetrics(*model, windows, options));
}

TEST(ImportanceProgress, DropLossReportsAndCancels) {
    auto model = Model::load(test::referenceDir("llama_gqa"), {torch::kCPU, torch::kFloat32});
    CancelToken token;
    int64_t last = 0, total = 0;
    Progress progress(
        [&](const ProgressInfo& p) {
            last = p.done;
            total = p.total;
            if (p.done == 3) token.cancel();
        },
        token);
    EXPECT_THROW(dropLoss(*model, test::referenceWindows("llama_gqa"), {Unit::Block}, {}, progress),
                 Cancelled);
    EXPECT_EQ(last, 3);
    EXPECT_EQ(total, 1 + model->numLayers());
}
