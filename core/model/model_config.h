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

// How a sub-layer is built. Hugging Face Llama-family checkpoints have only full sub-layers;
// NVIDIA's Nemotron-NAS (DeciLM) layout says per layer in `block_configs` whether attention and
// FFN are the full sub-layer, nothing (`no_op`) or one linear map of the sub-layer's normalised
// input (`replace_with_linear`: self_attn.linear_attn / mlp.linear_mlp, [H, H], no bias).
enum class SubLayerKind { Full, Absent, Linear };

struct ModelConfig {
    Architecture architecture = Architecture::Llama;
    // A Nemotron-NAS / DeciLM checkpoint ("DeciLMForCausalLM", model_type "nemotron-nas"): a Llama
    // whose layers follow `block_configs` (see attentionKind / ffnKind).
    bool nemotronNas = false;
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
    // Per layer: how attention and FFN are built (all Full unless block_configs says otherwise).
    std::vector<SubLayerKind> attentionKind, ffnKind;
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

// The FFN width a Nemotron-NAS block config's `ffn_mult` stands for, as DeciLM computes it:
// int(2 * ffn_mult * hidden / 3) rounded up to a multiple of 256.
int64_t nemotronNasIntermediateSize(double ffnMult, int64_t hiddenSize);

} // namespace layerlab
