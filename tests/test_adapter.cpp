#include "adapter.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

using namespace layerlab;

TEST(Adapter, SaveAndLoadRoundTrip) {
    test::TempDir dir;
    AdapterSet set(2);
    set[0] = {Unit::Attention, 3, torch::arange(4, torch::kFloat32), {}, {}};
    set[1] = {Unit::Block, 1, torch::ones({4}), torch::randn({4, 2}), torch::randn({2, 4})};
    saveAdapters(dir / "a.safetensors", set);
    const auto back = loadAdapters(dir / "a.safetensors", 5, 4);
    ASSERT_EQ(back.size(), 2u);
    for (const auto& a : back) {
        const auto& want = a.unit == Unit::Block ? set[1] : set[0];
        EXPECT_EQ(a.layer, want.layer);
        EXPECT_TRUE(torch::equal(a.bias, want.bias));
        EXPECT_EQ(a.rank(), want.rank());
        if (a.rank()) {
            EXPECT_TRUE(torch::equal(a.up, want.up));
        }
    }
    // Another model's shape, and a file that is not an adapter file.
    EXPECT_THROW(loadAdapters(dir / "a.safetensors", 2, 4), Error);
    EXPECT_THROW(loadAdapters(dir / "a.safetensors", 5, 8), Error);
    EXPECT_THROW(loadAdapters(test::referenceDir("llama_gqa") / "model.safetensors", 4, 64), Error);
}
