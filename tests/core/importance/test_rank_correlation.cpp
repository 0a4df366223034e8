// Rank correlations against values counted by hand.
#include "importance/rank_correlation.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace layerlab;

TEST(RankCorrelation, Spearman) {
    EXPECT_DOUBLE_EQ(spearmanCorrelation({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
    EXPECT_DOUBLE_EQ(spearmanCorrelation({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
    // d = (1, 1, 1, 1): 1 - 6 * 4 / (4 * 15) = 0.6
    EXPECT_NEAR(spearmanCorrelation({1, 2, 3, 4}, {2, 1, 4, 3}), 0.6, 1e-12);
    // ranks (0.5, 0.5, 2) vs (0, 1, 2): Pearson of the ranks = 0.75 / sqrt(0.5 * 2 * 0.75) = sqrt(3)/2
    EXPECT_NEAR(spearmanCorrelation({5, 5, 7}, {1, 2, 3}), 0.8660254037844386, 1e-12);
    EXPECT_TRUE(std::isnan(spearmanCorrelation({1, 1}, {1, 2})));
    EXPECT_TRUE(std::isnan(spearmanCorrelation({1, 2}, {1, 2, 3})));
    EXPECT_TRUE(std::isnan(spearmanCorrelation({1, NAN, 3}, {1, 2, 3})));
}

TEST(RankCorrelation, KendallTauB) {
    EXPECT_DOUBLE_EQ(kendallTau({1, 2, 3, 4}, {10, 20, 30, 40}), 1.0);
    EXPECT_DOUBLE_EQ(kendallTau({1, 2, 3, 4}, {4, 3, 2, 1}), -1.0);
    // Pairs (1,2) and (3,4) discordant, the other 4 concordant: (4 - 2) / 6.
    EXPECT_NEAR(kendallTau({1, 2, 3, 4}, {2, 1, 4, 3}), 1.0 / 3.0, 1e-12);
    // One pair tied in a, two concordant: 2 / sqrt((3 - 1) * 3).
    EXPECT_NEAR(kendallTau({5, 5, 7}, {1, 2, 3}), 2.0 / std::sqrt(6.0), 1e-12);
    EXPECT_TRUE(std::isnan(kendallTau({2, 2, 2}, {1, 2, 3})));
}
