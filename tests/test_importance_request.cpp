#include "importance_request.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace layerlab;

TEST(RankCorrelation, HandComputed) {
    EXPECT_DOUBLE_EQ(rankCorrelation({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
    EXPECT_DOUBLE_EQ(rankCorrelation({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
    // Ranks (0,1,2,3) vs (1,0,3,2): d^2 sum 4, rho = 1 - 6*4/(4*15) = 0.6.
    EXPECT_NEAR(rankCorrelation({1, 2, 3, 4}, {2, 1, 4, 3}), 0.6, 1e-12);
    // Ties take their mean rank: (0.5, 0.5, 2) vs (0, 1, 2) -> Pearson of the ranks.
    EXPECT_NEAR(rankCorrelation({5, 5, 7}, {1, 2, 3}), 0.8660254037844386, 1e-12);
    EXPECT_TRUE(std::isnan(rankCorrelation({1, 1}, {1, 2})));
}

TEST(ComputeImportance, ManyMetricsInOneCall) {
    auto model = Model::load(test::referenceDir("llama_gqa"), {test::testDevice(), torch::kFloat32});
    const auto windows = test::referenceWindows("llama_gqa");
    ImportanceRequest request;
    request.metrics = {"cosine", "l2_update", "drop_loss", "shapley"};
    request.units = {Unit::Attention};
    request.estimator = ShapleyEstimator::Both;
    request.presentAbsent.subnetworks = Subnetworks::LeaveOneOut;
    const auto r = computeImportance(*model, windows, request);
    for (const char* m : {"cosine", "l2_update", "drop_loss", "shapley", "present_absent"}) {
        ASSERT_TRUE(r.scores.scores.count(m)) << m;
        EXPECT_EQ(r.scores.scores.at(m)[Unit::Attention].size(), 4u) << m;
        EXPECT_TRUE(r.scores.scores.at(m)[Unit::Block].empty()) << m;
    }
    EXPECT_FALSE(r.scores.scores.count("rel_l1_update"));
    EXPECT_TRUE(r.settings["shapley_vs_present_absent_rank_correlation"].contains("attn"));
    // Leave-one-out present/absent: mean of v(all) and the other drop-one values minus v(-i),
    // i.e. drop_loss_i minus the mean drop over the others / L (all from drop_loss).
    const auto& drop = r.scores.scores.at("drop_loss")[Unit::Attention];
    const auto& pa = r.scores.scores.at("present_absent")[Unit::Attention];
    double total = 0;
    for (double d : drop)
        total += d;
    for (size_t i = 0; i < 4; ++i)
        EXPECT_NEAR(pa[i], drop[i] - (total - drop[i]) / 4.0, 1e-5) << i;

    request.metrics = {"cosine", "bogus"};
    EXPECT_THROW(computeImportance(*model, windows, request), Error);
}
