#include "common/error.h"
#include "model/layer_mask.h"

#include <gtest/gtest.h>

using namespace layerlab;

TEST(LayerMask, ParsesSpec) {
    auto m = LayerMask::parse("block:3,attn:5-7,ffn:2", 10);
    EXPECT_TRUE(m.isRemoved(Unit::Block, 3));
    EXPECT_FALSE(m.attentionOn(3));
    EXPECT_FALSE(m.ffnOn(3));
    for (int l : {5, 6, 7}) {
        EXPECT_FALSE(m.attentionOn(l));
        EXPECT_TRUE(m.ffnOn(l));
    }
    EXPECT_TRUE(m.attentionOn(2));
    EXPECT_FALSE(m.ffnOn(2));
    EXPECT_TRUE(m.attentionOn(4));
    EXPECT_EQ(m.removedUnits().size(), 5u);
    EXPECT_EQ(m.toSpec(), "block:3,attn:5-7,ffn:2");
}

TEST(LayerMask, EmptyAndNone) {
    EXPECT_TRUE(LayerMask::parse("", 4).empty());
    EXPECT_TRUE(LayerMask::parse("none", 4).empty());
    EXPECT_EQ(LayerMask(4).toSpec(), "");
}

TEST(LayerMask, CanonicalSpecMergesRanges) {
    auto m = LayerMask::parse("ffn:1, ffn:0 ,ffn:3,attn:2", 4);
    EXPECT_EQ(m.toSpec(), "attn:2,ffn:0-1,ffn:3");
    EXPECT_EQ(LayerMask::parse(m.toSpec(), 4), m);
}

TEST(LayerMask, Errors) {
    EXPECT_THROW(LayerMask::parse("block:4", 4), Error);
    EXPECT_THROW(LayerMask::parse("head:1", 4), Error);
    EXPECT_THROW(LayerMask::parse("attn:3-1", 4), Error);
    EXPECT_THROW(LayerMask::parse("attn:x", 4), Error);
    EXPECT_THROW(LayerMask::parse("attn", 4), Error);
    EXPECT_THROW(LayerMask::parse("attn:-1", 4), Error);
    try {
        LayerMask::parse("block:9", 4);
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("layer 9 is out of range (the model has 4 layers"),
                  std::string::npos);
    }
}

TEST(LayerMask, RestoreTurnsBackOn) {
    LayerMask m(2);
    m.remove(Unit::Attention, 1);
    m.restore(Unit::Attention, 1);
    EXPECT_TRUE(m.empty());
}
