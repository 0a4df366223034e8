#pragma once
// The hyper-parameters of a Llama-family checkpoint, read from its config.json. Both spellings
// are accepted: the classic `rope_theta` + `rope_scaling` + `torch_dtype`, and transformers 5's
// `rope_parameters` + `dtype`. The raw JSON is kept so an export can preserve every other field.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace layerlab {

enum class Architecture { Llama, Mistral, Qwen2 };
const char* architectureName(Architecture a); // the transformers class name

enum class RopeType { Default, Linear, Dynamic, Llama3 };
const char* ropeTypeName(RopeType t);

struct RopeConfig {
    RopeType type = RopeType::Default;
    double theta = 10000.0;
    double factor = 1.0;
    // llama3
    double lowFreqFactor = 1.0;
    double highFreqFactor = 4.0;
    int64_t originalMaxPositionEmbeddings = 0;
};

struct ModelConfig {
    Architecture architecture = Architecture::Llama;
    std::string modelType; // "llama", "mistral", "qwen2"
    int64_t vocabSize = 0;
    int64_t hiddenSize = 0;
    int64_t intermediateSize = 0;
    int64_t numLayers = 0;
    int64_t numHeads = 0;
    int64_t numKvHeads = 0;
    int64_t headDim = 0;
    int64_t maxPositionEmbeddings = 0;
    double rmsNormEps = 1e-6;
    bool tieWordEmbeddings = false;
    bool qkvBias = false; // Qwen2 always; Llama with attention_bias
    bool oBias = false;   // Llama with attention_bias
    bool mlpBias = false;
    RopeConfig rope;
    // Per layer: the attention window in tokens, or 0 for full causal attention.
    std::vector<int64_t> slidingWindow;
    std::string dtype; // as stored: "bfloat16", "float16", "float32" or empty
    std::optional<int64_t> bosTokenId;
    std::vector<int64_t> eosTokenIds;
    nlohmann::json raw;

    // Parse and validate; `source` names the file in errors.
    static ModelConfig fromJson(const nlohmann::json& j, const std::filesystem::path& source);
    static ModelConfig load(const std::filesystem::path& configJson);

    int64_t qDim() const { return numHeads * headDim; }
    int64_t kvDim() const { return numKvHeads * headDim; }
};

} // namespace layerlab
