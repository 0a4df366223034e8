// The KV cache and attention masks: a sequence fed in pieces through the cache, or padded in a
// batch, must give the logits of the plain forward pass (which tests/core/model/test_model.cpp checks
// against transformers).

#include "model/kv_cache.h"
#include "model/model.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

#include <limits>

using namespace layerlab;
using test::maxDiff;

namespace {

// Sliding windows (mistral_window: 8 tokens of 24) and GQA both go through the masks.
const std::vector<std::string> kCachedVariants = {"llama_gqa", "mistral_window", "qwen2_tied"};

class KvCacheReference : public ::testing::TestWithParam<std::string> {};

torch::Tensor referenceIds(const std::string& variant) {
    std::vector<int64_t> flat;
    for (const auto& w : test::referenceWindows(variant))
        flat.insert(flat.end(), w.ids.begin(), w.ids.end());
    return torch::tensor(flat, torch::kInt64).view({2, -1});
}

} // namespace

TEST_P(KvCacheReference, PiecesThroughTheCacheEqualOneFullPass) {
    auto model = Model::load(test::referenceDir(GetParam()), {test::testDevice(), torch::kFloat32});
    torch::InferenceMode inference;
    const auto ids = referenceIds(GetParam()); // [2, 24]
    for (const auto& spec : {"", "attn:1,ffn:2"}) {
        const auto mask = LayerMask::parse(spec, model->numLayers());
        const auto full = model->forward(ids, mask);
        KvCache cache(model->numLayers(), 24);
        // A 10-token prompt, a 5-token chunk (past > 0 and T > 1 needs the explicit mask), then one at a
        // time.
        std::vector<torch::Tensor> parts;
        parts.push_back(model->forwardCached(ids.narrow(1, 0, 10), mask, cache));
        parts.push_back(model->forwardCached(ids.narrow(1, 10, 5), mask, cache));
        for (int64_t t = 15; t < 24; ++t)
            parts.push_back(model->forwardCached(ids.narrow(1, t, 1), mask, cache));
        EXPECT_EQ(cache.length(), 24);
        EXPECT_LT(maxDiff(torch::cat(parts, 1), full), 1e-4) << GetParam() << " mask '" << spec << "'";
    }
}

TEST_P(KvCacheReference, PaddedRowsComputeWhatTheyWouldAlone) {
    auto model = Model::load(test::referenceDir(GetParam()), {test::testDevice(), torch::kFloat32});
    torch::InferenceMode inference;
    const auto ids = referenceIds(GetParam());
    const LayerMask mask(model->numLayers());
    const auto alone0 = model->forward(ids.narrow(0, 0, 1), mask);                  // 24 tokens
    const auto alone1 = model->forward(ids.narrow(0, 1, 1).narrow(1, 0, 17), mask); // 17 tokens
    const int64_t pad = 7;
    // Row 1 padded on the left, then on the right, with a pad id that is a real token (0).
    for (bool left : {true, false}) {
        auto batch = ids.clone();
        auto attention = torch::ones({2, 24}, torch::kInt64);
        auto row = ids[1].narrow(0, 0, 17);
        if (left) {
            batch[1].narrow(0, pad, 17).copy_(row);
            batch[1].narrow(0, 0, pad).fill_(0);
            attention[1].narrow(0, 0, pad).fill_(0);
        } else {
            batch[1].narrow(0, 17, pad).fill_(0);
            attention[1].narrow(0, 17, pad).fill_(0);
        }
        const auto logits = model->forward(batch, mask, nullptr, attention);
        EXPECT_LT(maxDiff(logits[0], alone0[0]), 1e-4) << GetParam();
        const auto real = logits[1].narrow(0, left ? pad : 0, 17);
        EXPECT_LT(maxDiff(real, alone1[0]), 1e-4) << GetParam() << (left ? " left" : " right") << " padding";
        EXPECT_FALSE(logits.isnan().any().item<bool>());
    }
}

TEST_P(KvCacheReference, LeftPaddedPromptsGenerateThroughTheCache) {
    auto model = Model::load(test::referenceDir(GetParam()), {test::testDevice(), torch::kFloat32});
    torch::InferenceMode inference;
    const auto ids = referenceIds(GetParam());
    const LayerMask mask(model->numLayers());
    const int64_t pad = 4;
    // Row 1 is 4 tokens shorter; both continue with the same 6 tokens one at a time.
    auto prompt = ids.narrow(1, 0, 14).clone();
    prompt[1].narrow(0, pad, 10).copy_(ids[1].narrow(0, 0, 10));
    prompt[1].narrow(0, 0, pad).fill_(0);
    auto attention = torch::ones({2, 14}, torch::kInt64);
    attention[1].narrow(0, 0, pad).fill_(0);
    KvCache cache(model->numLayers(), 20);
    model->forwardCached(prompt, mask, cache, attention);
    auto next = ids.narrow(1, 14, 6);
    std::vector<torch::Tensor> steps;
    for (int64_t t = 0; t < 6; ++t)
        steps.push_back(model->forwardCached(next.narrow(1, t, 1), mask, cache));
    auto stepped = torch::cat(steps, 1);
    auto want0 = model->forward(ids.narrow(0, 0, 1).narrow(1, 0, 20), mask).narrow(1, 14, 6);
    auto seq1 = torch::cat({ids[1].narrow(0, 0, 10), ids[1].narrow(0, 14, 6)}).view({1, 16});
    auto want1 = model->forward(seq1, mask).narrow(1, 10, 6);
    EXPECT_LT(maxDiff(stepped[0], want0[0]), 1e-4) << GetParam();
    EXPECT_LT(maxDiff(stepped[1], want1[0]), 1e-4) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Variants, KvCacheReference, ::testing::ValuesIn(kCachedVariants));

TEST(KvCache, RefusesMoreTokensThanItHolds) {
    auto model = Model::load(test::referenceDir("llama_gqa"), {torch::kCPU, torch::kFloat32});
    torch::InferenceMode inference;
    KvCache cache(model->numLayers(), 4);
    const auto ids = torch::zeros({1, 3}, torch::kInt64);
    model->forwardCached(ids, LayerMask(model->numLayers()), cache);
    EXPECT_THROW(model->forwardCached(ids, LayerMask(model->numLayers()), cache), Error);
    EXPECT_GT(cache.bytes(), 0u);
}

// Fixed-shape decoding writes a slot given on the device and reads every slot: the slots not yet
// written hold zeros (a NaN left in fresh memory would reach the output through a masked weight of 0).
TEST(KvCache, SlotsAreWrittenInPlaceAndTheRestAreZero) {
    {
        // Freed NaNs of the buffers' size, which the allocator is likely to hand out again.
        const auto nan = torch::full({2, 1, 6, 4}, std::numeric_limits<float>::quiet_NaN());
        const auto nan2 = nan.clone();
    }
    KvCache cache(1, 6);
    torch::InferenceMode inference;
    const auto keys = torch::full({2, 1, 3, 4}, 1.5), values = torch::full({2, 1, 3, 4}, -2.0);
    cache.append(0, keys, values);
    cache.commit(3, {});
    const auto [k, v] = cache.appendAt(0, torch::full({2, 1, 1, 4}, 7.0), torch::full({2, 1, 1, 4}, 8.0),
                                       torch::tensor({4}, torch::kInt64));
    ASSERT_EQ(k.sizes(), (std::vector<int64_t>{2, 1, 6, 4}));
    const auto expectedK =
        torch::tensor({1.5, 1.5, 1.5, 0.0, 7.0, 0.0}).view({1, 1, 6, 1}).expand({2, 1, 6, 4});
    const auto expectedV =
        torch::tensor({-2.0, -2.0, -2.0, 0.0, 8.0, 0.0}).view({1, 1, 6, 1}).expand({2, 1, 6, 4});
    EXPECT_TRUE(torch::equal(k, expectedK.to(k.scalar_type())));
    EXPECT_TRUE(torch::equal(v, expectedV.to(v.scalar_type())));
    EXPECT_EQ(cache.length(), 3); // appendAt leaves the count to the caller
    KvCache empty(1, 6);
    EXPECT_NE(test::errorOf([&] {
                  empty.appendAt(0, keys, values, torch::tensor({0}));
              }).find("layer 0 has no cached keys"),
              std::string::npos);
}
