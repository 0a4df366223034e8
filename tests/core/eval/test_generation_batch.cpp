// Several prompts in one left-padded batch give each prompt what generating it alone gives:
// greedy and sampled (each row with its own generator, seeded alike), with stops.

#include "common/error.h"
#include "eval/generation.h"
#include "model/model.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace layerlab;

TEST(GenerationBatch, EachRowGetsWhatItGetsAlone) {
    auto model = Model::load(test::demoDir(), {test::testDevice(), torch::kFloat32});
    const auto windows = test::demoWindows(3, 24);
    // Prompts of 9, 17 and 24 tokens: the shorter ones are padded on the left.
    std::vector<std::vector<int64_t>> prompts;
    for (size_t i = 0; i < windows.size(); ++i) {
        const auto& ids = windows[i].ids;
        const size_t length = std::vector<size_t>{9, 17, 24}[i];
        prompts.emplace_back(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(length));
    }
    const LayerMask mask = LayerMask::parse("attn:3", model->numLayers());
    for (double temperature : {0.0, 0.8}) {
        GenerationOptions o;
        o.maxNewTokens = 8;
        o.temperature = temperature;
        o.seed = 7;
        // A stop token prompt 0 meets: its third token (greedy: the row stops there, or earlier
        // if the token came before).
        const auto free = generate(*model, prompts[0], mask, o).tokens;
        o.stopTokens = {free.at(2)};
        const auto stopAt = static_cast<size_t>(std::find(free.begin(), free.end(), free[2]) - free.begin());
        const auto batch = generateBatch(*model, prompts, mask, o);
        ASSERT_EQ(batch.tokens.size(), prompts.size());
        int64_t total = 0;
        for (size_t i = 0; i < prompts.size(); ++i) {
            const auto alone = generate(*model, prompts[i], mask, o);
            EXPECT_EQ(batch.tokens[i], alone.tokens) << "prompt " << i << ", temperature " << temperature;
            EXPECT_EQ(batch.stopReasons[i], alone.stopReason) << "prompt " << i;
            total += static_cast<int64_t>(batch.tokens[i].size());
        }
        EXPECT_EQ(batch.stopReasons[0], "stop_token");
        EXPECT_EQ(batch.tokens[0].size(), stopAt + 1);
        EXPECT_GT(total, static_cast<int64_t>(stopAt + 1));
    }
    EXPECT_THROW(generateBatch(*model, {{}}, mask, {}), Error);
    EXPECT_THROW(generateBatch(*model, {}, mask, {}), Error);
}
