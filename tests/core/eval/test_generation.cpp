// Generation: the KV cache gives exactly the greedy tokens of recomputing the whole sequence,
// sampling is reproducible, and the nucleus rule keeps what it should (hand-computed).

#include "eval/generation.h"
#include "test_helpers.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace layerlab;
using test::demoDir;

TEST(Generation, CachedGreedyTokensEqualFullRecomputation) {
    auto model = Model::load(demoDir(), {test::testDevice(), torch::kFloat32});
    const auto tokenizer = Tokenizer::load(demoDir());
    const auto prompt = tokenizer.encode("And God said, Let there be", true);
    for (const auto& spec : {"", "attn:2-4,ffn:7"}) {
        const auto mask = LayerMask::parse(spec, model->numLayers());
        GenerationOptions o;
        o.maxNewTokens = 40;
        const auto cached = generate(*model, prompt, mask, o);
        o.useCache = false;
        const auto recomputed = generate(*model, prompt, mask, o);
        EXPECT_EQ(cached.tokens, recomputed.tokens) << "mask '" << spec << "'";
        EXPECT_EQ(cached.tokens.size(), 40u);
        EXPECT_EQ(cached.stopReason, "max_new_tokens");
        EXPECT_GT(cached.cacheBytes, 0u);
    }
}

TEST(Generation, StopsAfterAStopToken) {
    auto model = Model::load(demoDir(), {torch::kCPU, torch::kFloat32});
    const auto prompt = Tokenizer::load(demoDir()).encode("In the beginning", true);
    GenerationOptions o;
    o.maxNewTokens = 10;
    const auto free = generate(*model, prompt, LayerMask(model->numLayers()), o);
    ASSERT_GE(free.tokens.size(), 3u);
    o.stopTokens = {free.tokens[2]};
    const auto stopped = generate(*model, prompt, LayerMask(model->numLayers()), o);
    EXPECT_EQ(stopped.stopReason, "stop_token");
    // Stops at the first occurrence, which may come before position 2.
    EXPECT_LE(stopped.tokens.size(), 3u);
    EXPECT_EQ(stopped.tokens.back(), free.tokens[2]);
}

TEST(Generation, SamplingIsReproducibleAndSeedDependent) {
    auto model = Model::load(demoDir(), {torch::kCPU, torch::kFloat32});
    const auto prompt = Tokenizer::load(demoDir()).encode("The LORD", true);
    GenerationOptions o;
    o.maxNewTokens = 24;
    o.temperature = 1.0;
    o.topP = 0.95;
    o.seed = 7;
    const LayerMask mask(model->numLayers());
    const auto a = generate(*model, prompt, mask, o), b = generate(*model, prompt, mask, o);
    EXPECT_EQ(a.tokens, b.tokens);
    o.seed = 8;
    EXPECT_NE(generate(*model, prompt, mask, o).tokens, a.tokens);
}

TEST(Generation, BadOptionsAreErrors) {
    auto model = Model::load(demoDir(), {torch::kCPU, torch::kFloat32});
    const LayerMask mask(model->numLayers());
    GenerationOptions o;
    EXPECT_THROW(generate(*model, std::vector<int64_t>{}, mask, o), Error);
    o.topP = 0;
    EXPECT_THROW(generate(*model, std::vector<int64_t>{1}, mask, o), Error);
    o.topP = 1;
    o.temperature = -1;
    EXPECT_THROW(generate(*model, std::vector<int64_t>{1}, mask, o), Error);
}

TEST(Generation, ARowOfABatchKeepsTheBatchsRunAndItsOwnTokens) {
    BatchGenerationResult batch;
    batch.tokens = {{1, 2, 3}, {4, 5}};
    batch.stopReasons = {"max_new_tokens", "stop_token"};
    batch.seconds = 2.5;
    batch.tokensPerSecond = 2.0;
    batch.firstTokenSeconds = 0.25;
    batch.cacheBytes = 4096;
    batch.decodeSteps = "dynamic";
    batch.graphError = "no stream";
    const auto row = generationRow(batch, 1);
    EXPECT_EQ(row.tokens, (std::vector<int64_t>{4, 5}));
    EXPECT_EQ(row.stopReason, "stop_token");
    EXPECT_EQ(row.seconds, 2.5);
    EXPECT_EQ(row.tokensPerSecond, 2.0);
    EXPECT_EQ(row.firstTokenSeconds, 0.25);
    EXPECT_EQ(row.cacheBytes, 4096u);
    EXPECT_EQ(row.decodeSteps, "dynamic");
    EXPECT_EQ(row.graphError, "no stream");
    EXPECT_THROW(generationRow(batch, 2), std::out_of_range);
}

TEST(PickToken, NucleusKeepsTheSmallestSetReachingTopP) {
    // Probabilities 0.5, 0.3, 0.15, 0.05 (as log-probabilities), temperature 1.
    auto logits =
        torch::tensor({std::log(0.15), std::log(0.5), std::log(0.05), std::log(0.3)}, torch::kFloat64);
    GenerationOptions greedy;
    EXPECT_EQ(pickToken(logits, greedy, 0.99), 1);
    GenerationOptions o;
    o.temperature = 1.0;
    o.topP = 0.7; // 0.5 < 0.7 <= 0.8: tokens 1 and 3 stay, renormalised to 0.625 / 0.375
    EXPECT_EQ(pickToken(logits, o, 0.0), 1);
    EXPECT_EQ(pickToken(logits, o, 0.62), 1);
    EXPECT_EQ(pickToken(logits, o, 0.63), 3);
    EXPECT_EQ(pickToken(logits, o, 0.999), 3);
    o.topP = 1.0; // all four: cumulative 0.5, 0.8, 0.95, 1.0
    EXPECT_EQ(pickToken(logits, o, 0.81), 0);
    EXPECT_EQ(pickToken(logits, o, 0.96), 2);
    o.topP = 0.4; // the top token alone
    EXPECT_EQ(pickToken(logits, o, 0.99), 1);
}
