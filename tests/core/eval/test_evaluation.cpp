// Perplexity per word and per byte, from hand-computed numbers; batched evaluation equals
// sequence-by-sequence evaluation.

#include "eval/evaluation.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace layerlab;

TEST(TextPerplexity, HandComputed) {
    LossEvaluation loss;
    loss.loss = 2.0;
    loss.tokens = 90;
    TextStatistics text;
    text.documents = 1;
    text.documentTokens = 91; // BOS + 90 tokens: all 90 predictable tokens scored
    text.bytes = 400;
    text.words = 60;
    auto r = textPerplexity(loss, text);
    EXPECT_TRUE(r.exact);
    EXPECT_DOUBLE_EQ(r.coverage, 1.0);
    EXPECT_NEAR(r.wordPerplexity, std::exp(180.0 / 60), 1e-9);
    EXPECT_NEAR(r.bytePerplexity, std::exp(180.0 / 400), 1e-9);
    EXPECT_NEAR(r.bitsPerByte, 180.0 / 400 / std::log(2.0), 1e-12);
    // Half the text scored: half its words and bytes.
    loss.tokens = 45;
    r = textPerplexity(loss, text);
    EXPECT_FALSE(r.exact);
    EXPECT_DOUBLE_EQ(r.coverage, 0.5);
    EXPECT_NEAR(r.bitsPerByte, 90.0 / 200 / std::log(2.0), 1e-12);
    EXPECT_THROW(textPerplexity(loss, TextStatistics{}), Error);
}

TEST(EvaluateLoss, BatchedEqualsOneByOne) {
    auto model = Model::load(test::referenceDir("mistral_window"), {test::testDevice(), torch::kFloat32});
    auto windows = test::referenceWindows("mistral_window");
    // Unequal lengths and a strided context so batches group and mask differently.
    windows.push_back({std::vector<int64_t>(windows[0].ids.begin(), windows[0].ids.begin() + 15), 0});
    windows.push_back({windows[1].ids, 9});
    const auto mask = LayerMask::parse("attn:2", model->numLayers());
    const auto batched = evaluateLoss(*model, windows, mask, {8, {}});
    double sum = 0;
    int64_t tokens = 0;
    for (const auto& w : windows) {
        const auto one = evaluateLoss(*model, {w}, mask, {1, {}});
        sum += one.loss * static_cast<double>(one.tokens);
        tokens += one.tokens;
    }
    EXPECT_EQ(batched.tokens, tokens);
    EXPECT_EQ(tokens, 23 + 23 + 14 + 15);
    EXPECT_NEAR(batched.loss, sum / static_cast<double>(tokens), 1e-6);
}
