#include "eval/generation.h"

#include "common/attention_backend.h"
#include "common/error.h"
#include "common/out_of_memory.h"
#include "eval/fixed_shape_decoder.h"
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>

namespace layerlab {

std::vector<int64_t> endOfSequenceTokens(const Model& model, const Tokenizer& tokenizer) {
    auto tokens = model.config().eosTokenIds;
    if (const auto eos = tokenizer.eosId();
        eos && std::find(tokens.begin(), tokens.end(), *eos) == tokens.end())
        tokens.push_back(*eos);
    return tokens;
}

int64_t pickToken(const torch::Tensor& logits, const GenerationOptions& options, double u) {
    auto row = logits.to(torch::kCPU, torch::kFloat64).contiguous();
    if (options.temperature <= 0) return row.argmax().item<int64_t>();
    auto probs = torch::softmax(row / options.temperature, 0);
    auto [sorted, order] = probs.sort(0, /*descending=*/true);
    const double* p = sorted.data_ptr<double>();
    const int64_t* id = order.data_ptr<int64_t>();
    const int64_t n = sorted.numel();
    // Nucleus: the most probable tokens up to (and including) the one that reaches topP.
    int64_t keep = 0;
    double mass = 0;
    while (keep < n && (keep == 0 || mass < options.topP))
        mass += p[keep++];
    double target = u * mass, run = 0;
    for (int64_t i = 0; i < keep; ++i) {
        run += p[i];
        if (target < run) return id[i];
    }
    return id[keep - 1];
}

namespace {

void checkOptions(const GenerationOptions& options) {
    if (options.maxNewTokens < 0) throw Error("the number of new tokens cannot be negative");
    if (options.temperature < 0) throw Error("the temperature cannot be negative");
    if (!(options.topP > 0 && options.topP <= 1)) throw Error("top-p must be in (0, 1]");
}

bool isStop(const GenerationOptions& options, int64_t token) {
    return std::find(options.stopTokens.begin(), options.stopTokens.end(), token) != options.stopTokens.end();
}

} // namespace

namespace {

// Whether the steps after the prompt take fixed shapes, and whether they are recorded.
std::pair<bool, bool> fixedShapeSteps(const Model& model, const GenerationOptions& options,
                                      int64_t capacity) {
    if (options.decodeSteps == DecodeSteps::Dynamic || options.maxNewTokens < 2) return {false, false};
    if (model.deviceMap().devices().size() != 1) return {false, false};
    // Dynamic NTK scaling depends on the sequence length so far, which fixed shapes do not know.
    const auto& c = model.config();
    if (c.rope.type == RopeType::Dynamic && capacity > c.maxPositionEmbeddings) return {false, false};
    if (options.decodeSteps == DecodeSteps::FixedShape) return {true, false};
    const bool graphs = CudaGraph::supported(model.device());
    return {graphs, graphs};
}

// The prompts in one left-padded batch through forwardCached, then one token per row and step.
BatchGenerationResult runBatch(const Model& model, const std::vector<std::vector<int64_t>>& prompts,
                               const LayerMask& mask, const GenerationOptions& options,
                               const Progress& progress) {
    if (prompts.empty()) throw Error("no prompts to generate from");
    for (const auto& p : prompts)
        if (p.empty()) throw Error("a prompt has no tokens (give a prompt, or a BOS token)");
    checkOptions(options);
    torch::InferenceMode inference;
    const auto start = std::chrono::steady_clock::now();
    const auto B = static_cast<int64_t>(prompts.size());
    int64_t longest = 0;
    std::vector<int64_t> realTokens;
    for (const auto& p : prompts) {
        longest = std::max<int64_t>(longest, static_cast<int64_t>(p.size()));
        realTokens.push_back(static_cast<int64_t>(p.size()));
    }
    // Left padding: every row's last prompt token is at the same position, so one step feeds all.
    auto ids = torch::zeros({B, longest}, torch::kInt64);
    auto real = torch::zeros({B, longest}, torch::kBool);
    bool padded = false;
    for (int64_t b = 0; b < B; ++b) {
        const auto& p = prompts[static_cast<size_t>(b)];
        const int64_t pad = longest - static_cast<int64_t>(p.size());
        padded = padded || pad > 0;
        std::copy(p.begin(), p.end(), ids[b].data_ptr<int64_t>() + pad);
        real[b].narrow(0, pad, static_cast<int64_t>(p.size())).fill_(true);
    }
    BatchGenerationResult r;
    r.tokens.resize(prompts.size());
    r.stopReasons.assign(prompts.size(), "max_new_tokens");
    std::vector<std::mt19937_64> random(prompts.size(), std::mt19937_64(options.seed));
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::vector<bool> done(prompts.size(), false);
    KvCache cache(model.numLayers(), longest + std::max<int64_t>(options.maxNewTokens, 1));
    const auto [fixedShape, recordGraph] = fixedShapeSteps(model, options, cache.capacity());
    std::optional<FixedShapeDecoder> fixed;
    // No attention mask while no row has padding: the kernels (and results) of one unpadded prompt.
    auto feed = ids;
    auto feedMask = padded ? real : torch::Tensor();
    int64_t produced = 0;
    for (int64_t step = 0; step < options.maxNewTokens; ++step) {
        progress.checkCancelled();
        torch::Tensor last; // [B, V]
        if (fixed) {
            last = fixed->step(feed);
            if (!last.defined()) { // its first step could not run where graphs are recorded
                r.graphError = fixed->graphError();
                fixed.reset();
            }
        }
        if (!fixed) {
            // The prompt's pass and each dynamic step have a key length of their own (one shape
            // each): no cuDNN plan of 70 ms per step, FlashAttention (the memory-efficient kernel
            // under a padding mask) instead (attention_backend.h).
            const AttentionKernelScope attention(attentionKernelFor(feed.numel(), 1),
                                                 model.device().is_cuda());
            auto logits = model.forwardCached(feed.to(model.device()), mask, cache, feedMask);
            last = logits.select(1, logits.size(1) - 1);
        }
        // Greedy rows are picked on the device: one small copy per step, not B rows of logits.
        const auto argmax = options.temperature > 0 ? torch::Tensor() : last.argmax(-1).to(torch::kCPU);
        auto next = torch::zeros({B, 1}, torch::kInt64);
        auto nextMask = torch::zeros({B, 1}, torch::kBool);
        bool any = false, stopped = false;
        for (int64_t b = 0; b < B; ++b) {
            const auto i = static_cast<size_t>(b);
            if (done[i]) continue;
            const int64_t token = argmax.defined() ? argmax[b].item<int64_t>()
                                                   : pickToken(last[b], options, uniform(random[i]));
            r.tokens[i].push_back(token);
            ++produced;
            if (isStop(options, token)) {
                done[i] = true;
                stopped = true;
                r.stopReasons[i] = "stop_token";
                continue;
            }
            next[b][0] = token;
            nextMask[b][0] = true;
            any = true;
        }
        if (step == 0) {
            r.firstTokenSeconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (fixedShape && any) fixed.emplace(model, mask, cache, realTokens, recordGraph);
        }
        progress.report("generating", step + 1, options.maxNewTokens, "tokens");
        if (!any) break;
        feed = next;
        // A stopped row feeds padding from now on (fixed-shape steps keep feeding it: rows do
        // not see each other, and its tokens are no longer kept).
        if (stopped || feedMask.defined()) feedMask = nextMask;
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.tokensPerSecond = r.seconds > 0 ? static_cast<double>(produced) / r.seconds : 0;
    r.cacheBytes = cache.bytes();
    r.decodeSteps = !fixed ? "dynamic" : fixed->replaying() ? "cuda_graph" : "fixed_shape";
    if (fixed && !fixed->graphError().empty()) r.graphError = fixed->graphError();
    return r;
}

} // namespace

GenerationResult generationRow(const BatchGenerationResult& batch, size_t row) {
    GenerationResult r;
    static_cast<GenerationRun&>(r) = batch;
    r.tokens = batch.tokens.at(row);
    r.stopReason = batch.stopReasons.at(row);
    return r;
}

GenerationResult generate(const Model& model, std::span<const int64_t> prompt, const LayerMask& mask,
                          const GenerationOptions& options, const Progress& progress) try {
    if (prompt.empty()) throw Error("the prompt has no tokens (give a prompt, or a BOS token)");
    checkOptions(options);
    if (options.useCache)
        return generationRow(
            runBatch(model, {std::vector<int64_t>(prompt.begin(), prompt.end())}, mask, options, progress),
            0);
    // The reference: the whole sequence through the model at every step.
    torch::InferenceMode inference;
    GenerationResult r;
    const auto start = std::chrono::steady_clock::now();
    std::mt19937_64 random(options.seed);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    r.stopReason = "max_new_tokens";
    r.decodeSteps = "no_cache";
    std::vector<int64_t> sequence(prompt.begin(), prompt.end());
    for (int64_t step = 0; step < options.maxNewTokens; ++step) {
        progress.checkCancelled();
        auto ids = torch::tensor(sequence, torch::kInt64).view({1, -1}).to(model.device());
        auto logits = model.forward(ids, mask);
        const double u = options.temperature > 0 ? uniform(random) : 0.0;
        const int64_t next = pickToken(logits[0][logits.size(1) - 1], options, u);
        r.tokens.push_back(next);
        sequence.push_back(next);
        if (step == 0)
            r.firstTokenSeconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        progress.report("generating", step + 1, options.maxNewTokens, "tokens");
        if (isStop(options, next)) {
            r.stopReason = "stop_token";
            break;
        }
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.tokensPerSecond = r.seconds > 0 ? static_cast<double>(r.tokens.size()) / r.seconds : 0;
    return r;
} catch (const std::exception& e) {
    rethrowIfOutOfMemory(e, "generating text");
    throw;
}

BatchGenerationResult generateBatch(const Model& model, const std::vector<std::vector<int64_t>>& prompts,
                                    const LayerMask& mask, const GenerationOptions& options,
                                    const Progress& progress) try {
    return runBatch(model, prompts, mask, options, progress);
} catch (const std::exception& e) {
    rethrowIfOutOfMemory(e, "generating text");
    throw;
}

} // namespace layerlab
