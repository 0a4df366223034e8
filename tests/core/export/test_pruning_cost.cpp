// Savings of a removal set, against numbers derived by hand from the demo model's config.json:
// hidden 256, 8 heads of 32, 2 KV heads, FFN 1024, vocab 8192, 10 layers, untied LM head.

#include "export/pruning_cost.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

using namespace layerlab;

TEST(PruningCost, DemoModelByHand) {
    auto model = Model::load(std::filesystem::path(LAYERLAB_SOURCE_DIR) / "resources" / "demo",
                             {torch::kCPU, torch::kFloat32});
    const auto counts = model->parameterCounts();
    // Attention: q 256x256 + k 64x256 + v 64x256 + o 256x256 + input norm 256 = 164096.
    // FFN: gate, up, down 3 x 256 x 1024 + norm 256 = 786688.
    ASSERT_EQ(counts.attention[0], 164096);
    ASSERT_EQ(counts.ffn[0], 786688);
    ASSERT_EQ(counts.total, 2 * 8192 * 256 + 256 + 10 * (164096 + 786688));

    const auto none = pruningCost(model->config(), counts, LayerMask(10), 4);
    EXPECT_EQ(none.parametersRemoved, 0);
    EXPECT_EQ(none.kvBytesPerToken, 10 * 2 * 2 * 32 * 4); // K and V, 2 heads of 32, float32
    EXPECT_DOUBLE_EQ(none.flopsPerToken, 2.0 * 8192 * 256 + 10 * (2.0 * 164096 - 512 + 2.0 * 786688 - 512));

    const auto mask = LayerMask::parse("attn:1,block:3,ffn:5", 10);
    const auto c = pruningCost(model->config(), counts, mask, 2); // bf16 cache
    EXPECT_EQ(c.attentionRemoved, 2);                             // layers 1 and 3
    EXPECT_EQ(c.ffnRemoved, 2);                                   // layers 3 and 5
    EXPECT_EQ(c.blocksRemoved, 1);                                // layer 3
    EXPECT_EQ(c.parametersRemoved, 2 * 164096 + 2 * 786688);
    EXPECT_DOUBLE_EQ(c.parameterFraction, 1901568.0 / 13702400.0);
    EXPECT_EQ(c.kvBytesPerTokenSaved, 2 * (2 * 2 * 32 * 2));
    EXPECT_DOUBLE_EQ(c.flopsPerTokenSaved, 2 * (2.0 * 164096 - 512) + 2 * (2.0 * 786688 - 512));

    // Attention scores grow with the context: 4 x 8 heads x 32 x 100 tokens per attention layer.
    const auto withContext = pruningCost(model->config(), counts, mask, 2, 100);
    EXPECT_DOUBLE_EQ(withContext.flopsPerTokenSaved - c.flopsPerTokenSaved, 2 * 4.0 * 8 * 32 * 100);
    EXPECT_THROW(pruningCost(model->config(), counts, LayerMask(4), 2), Error);
}
