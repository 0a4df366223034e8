#include "eval/evaluation.h"

#include "common/error.h"
#include "common/out_of_memory.h"
#include "data/token_batch.h"

#include <chrono>
#include <cmath>
#include <map>

namespace layerlab {

LossEvaluation evaluateLoss(const Model& model, const std::vector<TokenWindow>& sequences,
                            const LayerMask& mask, const LossOptions& options, const Progress& progress) try {
    if (sequences.empty()) throw Error("no sequences to evaluate");
    if (options.batchSize < 1) throw Error("batch size must be at least 1");
    // Group by length so no padding is needed; keep original order within a group.
    std::map<size_t, std::vector<size_t>> byLength;
    for (size_t i = 0; i < sequences.size(); ++i) {
        if (sequences[i].scoredTargets() < 1)
            throw Error("sequence " + std::to_string(i) + " has no token to predict (" +
                        std::to_string(sequences[i].size()) + " tokens)");
        byLength[static_cast<size_t>(sequences[i].size())].push_back(i);
    }
    torch::InferenceMode inference;
    const auto start = std::chrono::steady_clock::now();
    LossSum total;
    int64_t done = 0, inputTokens = 0;
    for (const auto& [length, indices] : byLength) {
        for (size_t b = 0; b < indices.size(); b += static_cast<size_t>(options.batchSize)) {
            progress.checkCancelled();
            const size_t n = std::min(indices.size() - b, static_cast<size_t>(options.batchSize));
            std::vector<size_t> batch(indices.begin() + static_cast<std::ptrdiff_t>(b),
                                      indices.begin() + static_cast<std::ptrdiff_t>(b + n));
            std::vector<TokenWindow> windows;
            for (size_t i : batch)
                windows.push_back(sequences[i]);
            auto ids = batchTensor(windows).to(model.device());
            auto logits = model.forward(ids, mask);
            total += nextTokenLoss(logits, ids, targetMask(windows));
            if (options.onLogits) options.onLogits(logits, batch);
            done += static_cast<int64_t>(n);
            inputTokens += static_cast<int64_t>(n * length);
            progress.report("evaluating", done, static_cast<int64_t>(sequences.size()), "sequences");
        }
    }
    LossEvaluation r;
    r.loss = total.mean();
    r.perplexity = std::exp(r.loss);
    r.tokens = total.tokens;
    r.sequences = static_cast<int64_t>(sequences.size());
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.tokensPerSecond = r.seconds > 0 ? static_cast<double>(inputTokens) / r.seconds : 0;
    return r;
} catch (const std::exception& e) {
    rethrowIfOutOfMemory(e, "evaluating the loss");
    throw;
}

TextPerplexity textPerplexity(const LossEvaluation& loss, const TextStatistics& text) {
    if (text.bytes <= 0 || text.words <= 0)
        throw Error("word perplexity and bits per byte need text (the data has token ids only)");
    TextPerplexity r;
    r.coverage = text.scoredFraction(loss.tokens);
    if (r.coverage <= 0) throw Error("no token of the text was scored");
    r.exact = r.coverage >= 1.0;
    const double nll = loss.loss * static_cast<double>(loss.tokens);
    const double words = r.coverage * static_cast<double>(text.words);
    const double bytes = r.coverage * static_cast<double>(text.bytes);
    r.wordPerplexity = std::exp(nll / words);
    r.bytePerplexity = std::exp(nll / bytes);
    r.bitsPerByte = nll / (bytes * std::log(2.0));
    return r;
}

} // namespace layerlab
