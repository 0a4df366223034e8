#include "workspace/unit_toggle.h"

#include <gtest/gtest.h>

using namespace layerlab;
using namespace layerlab::ui;

TEST(UnitToggle, BlockRemovesAndRestoresTheWholeLayer) {
    LayerMask m(4);
    toggleUnit(m, Unit::Block, 2);
    EXPECT_EQ(m.toSpec(), "block:2");
    EXPECT_FALSE(unitRuns(m, Unit::Attention, 2));
    EXPECT_FALSE(unitRuns(m, Unit::Ffn, 2));
    toggleUnit(m, Unit::Block, 2);
    EXPECT_TRUE(m.empty());
}

TEST(UnitToggle, SubLayersFlipIndependently) {
    LayerMask m(4);
    toggleUnit(m, Unit::Attention, 1);
    EXPECT_EQ(m.toSpec(), "attn:1");
    EXPECT_TRUE(unitRuns(m, Unit::Block, 1)); // the FFN still runs
    toggleUnit(m, Unit::Attention, 1);
    EXPECT_TRUE(m.empty());
}

TEST(UnitToggle, BothSubLayersOffIsSpelledAsTheBlock) {
    LayerMask m(4);
    toggleUnit(m, Unit::Attention, 3);
    toggleUnit(m, Unit::Ffn, 3);
    EXPECT_EQ(m.toSpec(), "block:3");
    EXPECT_FALSE(unitRuns(m, Unit::Block, 3));
}

TEST(UnitToggle, SubLayerOfARemovedBlockComesBackAlone) {
    LayerMask m(4);
    toggleUnit(m, Unit::Block, 0);
    toggleUnit(m, Unit::Ffn, 0); // a click on the FFN of a removed block switches only the FFN on
    EXPECT_EQ(m.toSpec(), "attn:0");
    EXPECT_TRUE(unitRuns(m, Unit::Ffn, 0));
    EXPECT_FALSE(unitRuns(m, Unit::Attention, 0));
}
