#include "importance/importance_request.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace layerlab;

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
