#pragma once
// Text generation for a quick look at what a pruned model still writes: greedy or temperature /
// top-p sampling, with a KV cache, under a layer mask.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/progress.h"
#include "model/layer_mask.h"
#include "model/model.h"

namespace layerlab {

class Tokenizer;

struct GenerationOptions {
    int64_t maxNewTokens = 64;
    double temperature = 0; // 0: greedy (argmax); otherwise softmax(logits / temperature)
    double topP = 1.0;      // sampling keeps the smallest set of tokens whose probability reaches topP
    uint64_t seed = 0;      // the same seed, prompt and model give the same sample on any device
    std::vector<int64_t> stopTokens; // end of sequence: generation stops after producing one
    bool useCache = true;            // false: recompute the whole sequence at every step (reference)
};

struct GenerationResult {
    std::vector<int64_t> tokens; // the new tokens only (a stop token included)
    std::string stopReason;      // "stop_token" or "max_new_tokens"
    double seconds = 0;
    double tokensPerSecond = 0; // new tokens per second, prompt processing included
    uint64_t cacheBytes = 0;    // KV cache allocated
};

// The tokens that end a generated sequence (GenerationOptions::stopTokens): config.json's
// eos_token_id(s), then the tokenizer's end-of-sequence token when it is not among them.
std::vector<int64_t> endOfSequenceTokens(const Model& model, const Tokenizer& tokenizer);

// Throws Error for an empty prompt or bad options, Cancelled when asked to stop (per token).
GenerationResult generate(const Model& model, std::span<const int64_t> prompt, const LayerMask& mask,
                          const GenerationOptions& options, const Progress& progress = {});

struct BatchGenerationResult {
    std::vector<std::vector<int64_t>> tokens; // per prompt: its new tokens (a stop token included)
    std::vector<std::string> stopReasons;     // per prompt
    double seconds = 0;
    double tokensPerSecond = 0; // all prompts' new tokens per second, prompt processing included
};

// Several prompts in one batch (left-padded, with an attention mask, one KV cache): each row gets
// what generate() gives that prompt alone with the same options (row i samples with its own
// generator seeded with options.seed). A row that has stopped feeds padding until all have.
// Throws Error for an empty prompt or bad options, Cancelled when asked to stop (per step).
BatchGenerationResult generateBatch(const Model& model, const std::vector<std::vector<int64_t>>& prompts,
                                    const LayerMask& mask, const GenerationOptions& options,
                                    const Progress& progress = {});

// Picks the next token from one row of logits [V] by the options' rule. u in [0, 1) is the
// uniform draw that sampling uses (ignored when greedy). Exposed for tests.
int64_t pickToken(const torch::Tensor& logits, const GenerationOptions& options, double u);

} // namespace layerlab
