#include "model/tensor_names.h"

#include <gtest/gtest.h>

using namespace layerlab;

TEST(TensorNames, SpellsHuggingFaceNames) {
    EXPECT_EQ(tensorName(TensorRole::QProj, 3), "model.layers.3.self_attn.q_proj.weight");
    EXPECT_EQ(tensorName(TensorRole::DownBias, 0), "model.layers.0.mlp.down_proj.bias");
    EXPECT_EQ(tensorName(TensorRole::Embedding), "model.embed_tokens.weight");
    EXPECT_EQ(tensorName(TensorRole::LmHead), "lm_head.weight");
}

TEST(TensorNames, ParsesBack) {
    for (const auto& r : allTensorRoles()) {
        const int64_t layer = r.perLayer ? 17 : -1;
        auto parsed = parseTensorName(tensorName(r.role, layer));
        ASSERT_TRUE(parsed.has_value());
        EXPECT_EQ(parsed->role, r.role);
        EXPECT_EQ(parsed->layer, layer);
    }
    EXPECT_FALSE(parseTensorName("model.layers.x.self_attn.q_proj.weight"));
    EXPECT_FALSE(parseTensorName("model.layers.1.self_attn.rotary_emb.inv_freq"));
    EXPECT_FALSE(parseTensorName("model.layers.-1.mlp.up_proj.weight"));
}
