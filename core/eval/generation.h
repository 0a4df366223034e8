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

// How the steps after the prompt run (the prompt itself always goes through in one pass).
enum class DecodeSteps {
    Auto,       // CudaGraph on a model on one GPU where this build has CUDA graphs, else Dynamic
    Dynamic,    // each step shaped by the tokens so far (Model::forwardCached): the reference
    FixedShape, // fixed-shape steps run one by one, never recorded (any device: tests, comparisons)
};

struct GenerationOptions {
    int64_t maxNewTokens = 64;
    double temperature = 0; // 0: greedy (argmax); otherwise softmax(logits / temperature)
    double topP = 1.0;      // sampling keeps the smallest set of tokens whose probability reaches topP
    uint64_t seed = 0;      // the same seed, prompt and model give the same sample on any device
    std::vector<int64_t> stopTokens; // end of sequence: generation stops after producing one
    bool useCache = true;            // false: recompute the whole sequence at every step (reference)
    DecodeSteps decodeSteps = DecodeSteps::Auto; // with the cache
};

// How one generation call ran: shared by a batch and each of its rows.
struct GenerationRun {
    double seconds = 0;
    double tokensPerSecond = 0;   // new tokens per second (all rows'), prompt processing included
    double firstTokenSeconds = 0; // until the first new token (the prompt's pass)
    uint64_t cacheBytes = 0;      // KV cache allocated
    // What ran the steps after the prompt: "cuda_graph", "fixed_shape", "dynamic" or "no_cache".
    std::string decodeSteps;
    std::string graphError; // why a CUDA graph could not be recorded (the steps then ran without)
};

struct GenerationResult : GenerationRun {
    std::vector<int64_t> tokens; // the new tokens only (a stop token included)
    std::string stopReason;      // "stop_token" or "max_new_tokens"
};

// The tokens that end a generated sequence (GenerationOptions::stopTokens): config.json's
// eos_token_id(s), then the tokenizer's end-of-sequence token when it is not among them.
std::vector<int64_t> endOfSequenceTokens(const Model& model, const Tokenizer& tokenizer);

// Throws Error for an empty prompt or bad options, Cancelled when asked to stop (per token).
GenerationResult generate(const Model& model, std::span<const int64_t> prompt, const LayerMask& mask,
                          const GenerationOptions& options, const Progress& progress = {});

struct BatchGenerationResult : GenerationRun {
    std::vector<std::vector<int64_t>> tokens; // per prompt: its new tokens (a stop token included)
    std::vector<std::string> stopReasons;     // per prompt
};

// Several prompts in one batch (left-padded, with an attention mask, one KV cache): each row gets
// what generate() gives that prompt alone with the same options (row i samples with its own
// generator seeded with options.seed). A row that has stopped feeds padding until all have.
// Throws Error for an empty prompt or bad options, Cancelled when asked to stop (per step).
BatchGenerationResult generateBatch(const Model& model, const std::vector<std::vector<int64_t>>& prompts,
                                    const LayerMask& mask, const GenerationOptions& options,
                                    const Progress& progress = {});

// Row `row` of a batch as a result of its own, with the batch's timings and cache.
GenerationResult generationRow(const BatchGenerationResult& batch, size_t row);

// Picks the next token from one row of logits [V] by the options' rule. u in [0, 1) is the
// uniform draw that sampling uses (ignored when greedy). Exposed for tests.
int64_t pickToken(const torch::Tensor& logits, const GenerationOptions& options, double u);

} // namespace layerlab
