#include "export/pruning_plan.h"

#include "common/error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace layerlab;

TEST(PruningPlan, RemovalOrderIsAscendingWithNanLast) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    EXPECT_EQ(removalOrder({0.5, nan, 0.1, 0.5, -1.0}), (std::vector<int64_t>{4, 2, 0, 3, 1}));
}

TEST(PruningPlan, LeastImportantSkipsWhatIsAlreadyGone) {
    const std::vector<double> scores = {0.9, 0.1, 0.3, 0.2, 0.8};
    EXPECT_EQ(removeLeastImportant(LayerMask(5), Unit::Attention, scores, 2).toSpec(), "attn:1,attn:3");
    // Layer 1's block is gone already: its attention is not counted again.
    const auto base = LayerMask::parse("block:1", 5);
    EXPECT_EQ(removeLeastImportant(base, Unit::Attention, scores, 2),
              LayerMask::parse("block:1,attn:2-3", 5));
    EXPECT_EQ(removeLeastImportant(LayerMask(5), Unit::Block, scores, 0), LayerMask(5));
    EXPECT_THROW(removeLeastImportant(base, Unit::Block, scores, 5), Error);
    EXPECT_THROW(removeLeastImportant(LayerMask(5), Unit::Ffn, {1.0}, 1), Error);
}

TEST(PruningPlan, ConsecutiveBlocks) {
    EXPECT_EQ(removeConsecutiveBlocks(6, 2, 3).toSpec(), "block:2-4");
    EXPECT_THROW(removeConsecutiveBlocks(6, 4, 3), Error);
}
