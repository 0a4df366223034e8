// Fixed-shape decoding steps (and, on a GPU, their CUDA graph) give what the dynamic steps give:
// the same logits within the dtype's rounding and the same tokens, batched and padded, with
// sliding windows, grouped-query attention, biases and a layer mask.

#include "common/cuda_graph.h"
#include "common/error.h"
#include "common/gpu_allocator.h"
#include "eval/fixed_shape_decoder.h"
#include "eval/generation.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

#include <torch/version.h>

#include <algorithm>

using namespace layerlab;

namespace {

// Prompts of 5 and 11 tokens (left-padded to 11) from a reference batch.
std::vector<std::vector<int64_t>> twoPrompts(const std::string& variant) {
    const auto windows = test::referenceWindows(variant);
    return {{windows[0].ids.begin(), windows[0].ids.begin() + 5},
            {windows[1].ids.begin(), windows[1].ids.begin() + 11}};
}

GenerationOptions steps(DecodeSteps how, int64_t tokens, double temperature = 0) {
    GenerationOptions o;
    o.maxNewTokens = tokens;
    o.decodeSteps = how;
    o.temperature = temperature;
    o.seed = 3;
    return o;
}

} // namespace

// Step by step, the logits of fixed-shape steps against forwardCached's, fed the same tokens.
TEST(FixedShapeDecoder, LogitsEqualDynamicSteps) {
    for (const std::string variant : {"mistral_window", "qwen2_tied", "llama_tied_bias_headdim"}) {
        auto model = Model::load(test::referenceDir(variant), {test::testDevice(), torch::kFloat32});
        const auto prompts = twoPrompts(variant);
        const LayerMask mask = LayerMask::parse("ffn:1", model->numLayers());
        const int64_t B = 2, T = 11, steps = 14; // 25 slots: past the window of 8
        auto ids = torch::zeros({B, T}, torch::kInt64);
        auto real = torch::zeros({B, T}, torch::kBool);
        for (int64_t b = 0; b < B; ++b) {
            const auto& p = prompts[static_cast<size_t>(b)];
            const auto n = static_cast<int64_t>(p.size());
            ids[b].narrow(0, T - n, n).copy_(torch::tensor(p, torch::kInt64));
            real[b].narrow(0, T - n, n).fill_(true);
        }
        torch::InferenceMode inference;
        KvCache dynamic(model->numLayers(), T + steps), fixedCache(model->numLayers(), T + steps);
        model->forwardCached(ids.to(model->device()), mask, dynamic, real);
        model->forwardCached(ids.to(model->device()), mask, fixedCache, real);
        FixedShapeDecoder decoder(*model, mask, fixedCache, {5, 11}, CudaGraph::supported(model->device()));
        auto feed = torch::tensor({7, 100}, torch::kInt64);
        for (int64_t s = 0; s < steps; ++s) {
            const auto expected = model->forwardCached(feed.view({B, 1}).to(model->device()), mask, dynamic,
                                                       torch::ones({B, 1}, torch::kBool));
            const auto got = decoder.step(feed);
            ASSERT_EQ(got.sizes(), (std::vector<int64_t>{B, model->config().vocabSize}));
            // float32, with the attention sums over 25 slots instead of the prefix so far (another
            // order, and other kernels on a GPU): 64 units in the last place of the largest logit
            // (2^-23 each); on the CPU the largest difference was 10.
            const double scale = std::max(1.0, expected.abs().max().item<double>());
            EXPECT_LE(test::maxDiff(got, expected.select(1, 0)), 64 * scale / (1 << 23))
                << variant << ", step " << s;
            feed = expected.select(1, 0).argmax(-1).cpu();
        }
        EXPECT_EQ(decoder.replaying(), CudaGraph::supported(model->device())) << decoder.graphError();
        EXPECT_NE(test::errorOf([&] { decoder.step(feed); }).find("the KV cache holds 25 tokens"),
                  std::string::npos);
    }
}

// When the first step cannot run where the graph would be recorded (here: no CUDA), nothing of it
// counts and the caller goes on with dynamic steps from the same cache.
TEST(FixedShapeDecoder, AFirstStepThatCannotBeRecordedLeavesTheCacheAsItWas) {
    auto model = Model::load(test::referenceDir("llama_gqa"), {test::testDevice(), torch::kFloat32});
    if (CudaGraph::supported(model->device())) GTEST_SKIP() << "the recording works here";
    const auto prompt = twoPrompts("llama_gqa")[1];
    const LayerMask mask(model->numLayers());
    torch::InferenceMode inference;
    const auto ids = torch::tensor(prompt, torch::kInt64).view({1, -1});
    KvCache tried(model->numLayers(), 20), plain(model->numLayers(), 20);
    model->forwardCached(ids, mask, tried);
    model->forwardCached(ids, mask, plain);
    FixedShapeDecoder decoder(*model, mask, tried, {11}, /*recordGraph=*/true);
    const auto next = torch::tensor({{42}}, torch::kInt64);
    EXPECT_FALSE(decoder.step(next.view({1})).defined());
    EXPECT_NE(decoder.graphError().find("CUDA"), std::string::npos) << decoder.graphError();
    EXPECT_EQ(tried.length(), 11);
    EXPECT_TRUE(
        torch::equal(model->forwardCached(next, mask, tried), model->forwardCached(next, mask, plain)));
}

TEST(FixedShapeDecoder, GenerationGivesTheDynamicTokens) {
    auto model = Model::load(test::referenceDir("llama_gqa"), {test::testDevice(), torch::kFloat32});
    const auto prompts = twoPrompts("llama_gqa");
    const LayerMask mask = LayerMask::parse("attn:2", model->numLayers());
    for (double temperature : {0.0, 0.9}) {
        const auto reference =
            generateBatch(*model, prompts, mask, steps(DecodeSteps::Dynamic, 20, temperature));
        EXPECT_EQ(reference.decodeSteps, "dynamic");
        for (auto how : {DecodeSteps::FixedShape, DecodeSteps::Auto}) {
            const auto r = generateBatch(*model, prompts, mask, steps(how, 20, temperature));
            EXPECT_EQ(r.tokens, reference.tokens) << "temperature " << temperature;
            EXPECT_TRUE(r.graphError.empty()) << r.graphError;
        }
        // One prompt alone takes the same path as generate().
        const auto alone = generate(*model, prompts[1], mask, steps(DecodeSteps::Auto, 20, temperature));
        EXPECT_EQ(alone.tokens, reference.tokens[1]);
        EXPECT_GT(alone.firstTokenSeconds, 0);
        EXPECT_LE(alone.firstTokenSeconds, alone.seconds);
    }
    const auto gpu = CudaGraph::supported(model->device());
    EXPECT_EQ(generateBatch(*model, prompts, mask, steps(DecodeSteps::Auto, 4)).decodeSteps,
              gpu ? "cuda_graph" : "dynamic");
    EXPECT_EQ(generateBatch(*model, prompts, mask, steps(DecodeSteps::FixedShape, 4)).decodeSteps,
              "fixed_shape");
    // One new token: the prompt's pass is all there is.
    EXPECT_EQ(generateBatch(*model, prompts, mask, steps(DecodeSteps::FixedShape, 1)).decodeSteps, "dynamic");
}

// A stop token ends one row while the other goes on; the stopped row's tokens stay as they were.
TEST(FixedShapeDecoder, StopsPerRow) {
    auto model = Model::load(test::referenceDir("qwen2_tied"), {test::testDevice(), torch::kFloat32});
    const auto prompts = twoPrompts("qwen2_tied");
    const LayerMask mask(model->numLayers());
    auto o = steps(DecodeSteps::Dynamic, 12);
    const auto free = generateBatch(*model, prompts, mask, o);
    o.stopTokens = {free.tokens[0].at(3)};
    const auto reference = generateBatch(*model, prompts, mask, o);
    EXPECT_EQ(reference.stopReasons[0], "stop_token");
    for (auto how : {DecodeSteps::FixedShape, DecodeSteps::Auto}) { // Auto: the CUDA graph on a GPU
        o.decodeSteps = how;
        const auto fixed = generateBatch(*model, prompts, mask, o);
        EXPECT_EQ(fixed.tokens, reference.tokens);
        EXPECT_EQ(fixed.stopReasons, reference.stopReasons);
    }
}

// Dynamic NTK scaling depends on the length so far: past the trained context, the steps stay dynamic.
TEST(FixedShapeDecoder, DynamicRopePastTheContextStaysDynamic) {
    auto model = Model::load(test::referenceDir("llama_dynamic_f16"), {test::testDevice(), torch::kFloat32});
    const auto prompt = twoPrompts("llama_dynamic_f16")[0]; // 5 tokens; trained context 16
    const LayerMask mask(model->numLayers());
    EXPECT_EQ(generate(*model, prompt, mask, steps(DecodeSteps::FixedShape, 8)).decodeSteps, "fixed_shape");
    EXPECT_EQ(generate(*model, prompt, mask, steps(DecodeSteps::FixedShape, 20)).decodeSteps, "dynamic");
    EXPECT_EQ(generate(*model, prompt, mask, steps(DecodeSteps::FixedShape, 8)).tokens,
              generate(*model, prompt, mask, steps(DecodeSteps::Dynamic, 8)).tokens);
}

// A recording's stream and graph need cuBLAS workspaces and a memory pool of their own: the
// current stream's go back to the driver before, and theirs once the generation is done, so
// that no memory sits unused beside them (on a GPU only).
TEST(FixedShapeDecoder, ARecordingLeavesNoMemoryBehind) {
    auto model = Model::load(test::referenceDir("llama_gqa"), {test::testDevice(), torch::kFloat32});
    if (!CudaGraph::supported(model->device())) GTEST_SKIP() << "no CUDA graphs here";
#if TORCH_VERSION_MAJOR < 2
    GTEST_SKIP() << "LibTorch 1.x keeps cuBLAS's workspaces outside its allocator";
#endif
    const auto prompts = twoPrompts("llama_gqa");
    const LayerMask mask(model->numLayers());
    const int gpu = model->device().index() < 0 ? 0 : model->device().index();
    const auto held = [&] { // what the allocator holds now: its peaks, started again
        resetGpuMemoryPeaks(gpu);
        return gpuMemoryPeaks(gpu);
    };
    const auto dynamic = generateBatch(*model, prompts, mask, steps(DecodeSteps::Dynamic, 8));
    const auto afterDynamic = held();
    const auto recorded = generateBatch(*model, prompts, mask, steps(DecodeSteps::Auto, 8));
    const auto afterRecording = held();
    EXPECT_EQ(recorded.decodeSteps, "cuda_graph");
    EXPECT_EQ(recorded.tokens, dynamic.tokens);
    // The dynamic steps leave the current stream's workspace in use and their blocks cached.
    EXPECT_LT(afterRecording.allocated, afterDynamic.allocated);
    EXPECT_LT(afterRecording.reserved, afterDynamic.reserved);
}
