#pragma once
// A quick look at what the pruned model still writes: the core's generate() under the current
// removal set (and the model's adapters), greedy or sampled.

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "common/progress.h"
#include "model/layer_mask.h"

namespace layerlab {
class Model;
class Tokenizer;
} // namespace layerlab

namespace layerlab::ui {

struct GenerationRequest {
    std::string prompt;
    int64_t maxNewTokens = 48;
    double temperature = 0; // 0: greedy
    double topP = 1.0;
    uint64_t seed = 0;
};

struct GeneratedText {
    LayerMask mask;
    GenerationRequest request;
    std::string prompt, text; // text: the new tokens decoded, special tokens skipped
    int64_t tokens = 0;
    std::string stopReason;
    double tokensPerSecond = 0;
    double firstTokenSeconds = 0;
    std::string decodeSteps; // GenerationResult::decodeSteps: "cuda_graph", "dynamic", ...
};

// Stops at the model's EOS tokens. Throws Error (empty prompt, no tokenizer), Cancelled.
GeneratedText runGeneration(const Model& model, const Tokenizer* tokenizer, const LayerMask& mask,
                            const GenerationRequest& request, const Progress& progress);

// A result as sessions keep it, in the fields of `eval --generate --json` ("generation") plus
// "removed" and "max_new_tokens"; "tokens" is the count. generatedTextFromJson throws Error (naming
// `source`) for a record that is malformed or whose removal set does not fit `numLayers`.
nlohmann::json generatedTextJson(const GeneratedText& result);
GeneratedText generatedTextFromJson(const nlohmann::json& record, int64_t numLayers,
                                    const std::string& source);

} // namespace layerlab::ui
