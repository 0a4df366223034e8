#include "io/safetensors.h"
#include "model/adapter.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

using namespace layerlab;

namespace {

ModelConfig smallConfig(int64_t layers, int64_t hidden) {
    ModelConfig c;
    c.numLayers = layers;
    c.hiddenSize = hidden;
    c.intermediateSize = 3 * hidden;
    c.numHeads = 2;
    c.numKvHeads = 1;
    c.headDim = hidden / 2;
    return c;
}

} // namespace

TEST(Adapter, ProjectionShapesFollowTheConfig) {
    const auto c = smallConfig(2, 8); // q 8 wide, k/v 4 wide, FFN 24
    EXPECT_EQ(projectionShape(c, Projection::Q), (std::pair<int64_t, int64_t>{8, 8}));
    EXPECT_EQ(projectionShape(c, Projection::K), (std::pair<int64_t, int64_t>{4, 8}));
    EXPECT_EQ(projectionShape(c, Projection::O), (std::pair<int64_t, int64_t>{8, 8}));
    EXPECT_EQ(projectionShape(c, Projection::Up), (std::pair<int64_t, int64_t>{24, 8}));
    EXPECT_EQ(projectionShape(c, Projection::Down), (std::pair<int64_t, int64_t>{8, 24}));
    EXPECT_EQ(projectionUnit(Projection::V), Unit::Attention);
    EXPECT_EQ(projectionUnit(Projection::Gate), Unit::Ffn);
}

TEST(Adapter, SaveAndLoadRoundTrip) {
    test::TempDir dir;
    AdapterSet set;
    set.units.push_back({Unit::Attention, 3, torch::arange(4, torch::kFloat32), {}, {}});
    set.units.push_back({Unit::Block, 1, torch::ones({4}), torch::randn({4, 2}), torch::randn({2, 4})});
    set.lora.push_back({2, Projection::K, torch::randn({4, 2}), torch::randn({2, 2})});     // k: [2, 4]
    set.lora.push_back({0, Projection::Down, torch::randn({12, 3}), torch::randn({3, 4})}); // down: [4, 12]
    saveAdapters(dir / "a.safetensors", set);
    const auto back = loadAdapters(dir / "a.safetensors", smallConfig(5, 4));
    ASSERT_EQ(back.units.size(), 2u);
    for (const auto& a : back.units) {
        const auto& want = a.unit == Unit::Block ? set.units[1] : set.units[0];
        EXPECT_EQ(a.layer, want.layer);
        EXPECT_TRUE(torch::equal(a.bias, want.bias));
        EXPECT_EQ(a.rank(), want.rank());
        if (a.rank()) {
            EXPECT_TRUE(torch::equal(a.up, want.up));
        }
    }
    ASSERT_EQ(back.lora.size(), 2u);
    for (const auto& a : back.lora) {
        const auto& want = a.projection == Projection::K ? set.lora[0] : set.lora[1];
        EXPECT_EQ(a.layer, want.layer);
        EXPECT_TRUE(torch::equal(a.down, want.down));
        EXPECT_TRUE(torch::equal(a.up, want.up));
    }
    // Another model's shape, and a file that is not an adapter file.
    EXPECT_THROW(loadAdapters(dir / "a.safetensors", smallConfig(2, 4)), Error);
    EXPECT_THROW(loadAdapters(dir / "a.safetensors", smallConfig(5, 8)), Error);
    EXPECT_THROW(loadAdapters(test::referenceDir("llama_gqa") / "model.safetensors", smallConfig(4, 64)),
                 Error);
}

TEST(Adapter, LoadRejectsUnknownProjectionsAndHalfAdapters) {
    test::TempDir dir;
    writeSafetensors(dir / "p.safetensors", {{"lora.0.qq.down", torch::zeros({4, 1})}},
                     {{"format", "layerlab-adapters"}});
    EXPECT_THROW(loadAdapters(dir / "p.safetensors", smallConfig(2, 4)), Error);
    writeSafetensors(dir / "h.safetensors", {{"lora.0.q.down", torch::zeros({4, 1})}},
                     {{"format", "layerlab-adapters"}});
    EXPECT_THROW(loadAdapters(dir / "h.safetensors", smallConfig(2, 4)), Error);
}
