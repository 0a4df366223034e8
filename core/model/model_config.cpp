#include "model/model_config.h"

#include "common/error.h"
#include "io/json_file.h"

namespace layerlab {

namespace fs = std::filesystem;
using json = nlohmann::json;

const char* architectureName(Architecture a) {
    switch (a) {
    case Architecture::Llama:
        return "LlamaForCausalLM";
    case Architecture::Mistral:
        return "MistralForCausalLM";
    case Architecture::Qwen2:
        return "Qwen2ForCausalLM";
    }
    return "?";
}

const char* ropeTypeName(RopeType t) {
    switch (t) {
    case RopeType::Default:
        return "default";
    case RopeType::Linear:
        return "linear";
    case RopeType::Dynamic:
        return "dynamic";
    case RopeType::Llama3:
        return "llama3";
    }
    return "?";
}

namespace {

constexpr int64_t kMaxConfigInt = (int64_t{1} << 31) - 1;
// Far beyond any real model (the deepest have a few hundred layers); per-layer tables are sized by it.
constexpr int64_t kMaxLayers = 1 << 16;

class Reader {
public:
    Reader(const json& j, const fs::path& src) : j_(j), src_(src) {}

    int64_t positiveInt(const char* key) const {
        if (!j_.contains(key) || j_[key].is_null())
            throw Error(src_, std::string("missing field '") + key + "'");
        return positive(j_[key], key);
    }
    int64_t positive(const json& v, const std::string& key) const {
        if (!v.is_number_integer() || v.get<int64_t>() <= 0)
            throw Error(src_, "field '" + key + "' must be a positive integer, got " + v.dump());
        // Sizes, counts and positions fit in 31 bits in every real config; the bound keeps
        // products such as num_attention_heads * head_dim far from overflowing.
        if (v.get<int64_t>() > kMaxConfigInt)
            throw Error(src_, "field '" + key + "' is " + v.dump() + ", larger than the limit of " +
                                  std::to_string(kMaxConfigInt));
        return v.get<int64_t>();
    }
    std::optional<int64_t> optInt(const char* key) const {
        if (!j_.contains(key) || j_[key].is_null()) return std::nullopt;
        return positive(j_[key], key);
    }
    double number(const json& obj, const char* key, double fallback) const {
        if (!obj.contains(key) || obj[key].is_null()) return fallback;
        if (!obj[key].is_number()) throw Error(src_, std::string("field '") + key + "' must be a number");
        return obj[key].get<double>();
    }
    std::string text(const char* key, const std::string& fallback) const {
        if (!j_.contains(key) || j_[key].is_null()) return fallback;
        if (!j_[key].is_string()) throw Error(src_, std::string("field '") + key + "' must be a string");
        return j_[key].get<std::string>();
    }
    bool flag(const char* key, bool fallback) const {
        if (!j_.contains(key) || j_[key].is_null()) return fallback;
        if (!j_[key].is_boolean())
            throw Error(src_, std::string("field '") + key + "' must be true or false");
        return j_[key].get<bool>();
    }

private:
    const json& j_;
    const fs::path& src_;
};

RopeConfig parseRope(const json& j, const fs::path& src, const Reader& r) {
    RopeConfig rope;
    // transformers 5 folds theta and scaling into one `rope_parameters` object.
    json params = json::object();
    if (j.contains("rope_parameters") && !j["rope_parameters"].is_null()) {
        params = j["rope_parameters"];
        if (!params.is_object()) throw Error(src, "'rope_parameters' must be an object");
        if (params.contains("full_attention") && params["full_attention"].is_object())
            params = params["full_attention"];
    } else if (j.contains("rope_scaling") && !j["rope_scaling"].is_null()) {
        params = j["rope_scaling"];
        if (!params.is_object()) throw Error(src, "'rope_scaling' must be an object");
    }
    rope.theta = r.number(params, "rope_theta", r.number(j, "rope_theta", 10000.0));
    if (rope.theta <= 0) throw Error(src, "rope_theta must be positive");

    std::string type = "default";
    if (params.contains("rope_type") && params["rope_type"].is_string())
        type = params["rope_type"];
    else if (params.contains("type") && params["type"].is_string())
        type = params["type"];
    if (type == "default")
        rope.type = RopeType::Default;
    else if (type == "linear")
        rope.type = RopeType::Linear;
    else if (type == "dynamic")
        rope.type = RopeType::Dynamic;
    else if (type == "llama3")
        rope.type = RopeType::Llama3;
    else
        throw Error(src, "unsupported RoPE scaling type '" + type +
                             "' (supported: default, linear, dynamic, llama3)");

    if (rope.type != RopeType::Default) {
        rope.factor = r.number(params, "factor", 0.0);
        if (rope.factor <= 0) throw Error(src, "RoPE scaling '" + type + "' needs a positive 'factor'");
    }
    if (rope.type == RopeType::Llama3) {
        rope.lowFreqFactor = r.number(params, "low_freq_factor", 1.0);
        rope.highFreqFactor = r.number(params, "high_freq_factor", 4.0);
        if (!params.contains("original_max_position_embeddings"))
            throw Error(src, "llama3 RoPE scaling needs 'original_max_position_embeddings'");
        rope.originalMaxPositionEmbeddings =
            r.positive(params["original_max_position_embeddings"], "original_max_position_embeddings");
        if (rope.highFreqFactor <= rope.lowFreqFactor)
            throw Error(src, "llama3 RoPE scaling needs high_freq_factor > low_freq_factor");
    }
    return rope;
}

// Nemotron-NAS `block_configs`: one {"attention": {...}, "ffn": {...}} per layer. LayerLab
// models have one KV-head count and one FFN width, so full sub-layers must agree on them.
void parseBlockConfigs(const json& j, const fs::path& src, const Reader& r, ModelConfig& c) {
    if (!j.contains("block_configs") || !j["block_configs"].is_array())
        throw Error(src, "a DeciLMForCausalLM (Nemotron-NAS) config needs a 'block_configs' list");
    const auto& blocks = j["block_configs"];
    if (blocks.size() != static_cast<size_t>(c.numLayers))
        throw Error(src, "'block_configs' has " + std::to_string(blocks.size()) +
                             " entries but num_hidden_layers is " + std::to_string(c.numLayers));
    std::optional<int64_t> kvHeads, intermediate;
    auto flag = [&](const json& o, const char* key, const std::string& where) {
        if (!o.contains(key) || o[key].is_null()) return false;
        if (!o[key].is_boolean()) throw Error(src, where + "." + key + " must be true or false");
        return o[key].get<bool>();
    };
    auto kind = [&](const json& o, const std::string& where) {
        const bool noOp = flag(o, "no_op", where), linear = flag(o, "replace_with_linear", where);
        if (noOp && linear) throw Error(src, where + " cannot be both no_op and replace_with_linear");
        return noOp ? SubLayerKind::Absent : linear ? SubLayerKind::Linear : SubLayerKind::Full;
    };
    for (size_t l = 0; l < blocks.size(); ++l) {
        const std::string where = "block_configs[" + std::to_string(l) + "]";
        const auto& b = blocks[l];
        if (!b.is_object() || !b.contains("attention") || !b["attention"].is_object() || !b.contains("ffn") ||
            !b["ffn"].is_object())
            throw Error(src, where + " needs 'attention' and 'ffn' objects");
        const auto& attn = b["attention"];
        const auto& ffn = b["ffn"];
        c.attentionKind[l] = kind(attn, where + ".attention");
        c.ffnKind[l] = kind(ffn, where + ".ffn");
        for (const char* key : {"sparsify", "num_sink_tokens"})
            if (attn.contains(key) && !attn[key].is_null())
                throw Error(src, where + ".attention." + key + " is not supported by LayerLab");
        // A sliding window of this layer (LayerLab's own exports of Mistral-style sources).
        if (c.attentionKind[l] == SubLayerKind::Full && attn.contains("window_length") &&
            !attn["window_length"].is_null())
            c.slidingWindow[l] = r.positive(attn["window_length"], where + ".attention.window_length");
        if (c.attentionKind[l] == SubLayerKind::Full) {
            if (!attn.contains("n_heads_in_group"))
                throw Error(src, where + ".attention needs 'n_heads_in_group'");
            const int64_t group = r.positive(attn["n_heads_in_group"], where + ".attention.n_heads_in_group");
            if (c.numHeads % group != 0)
                throw Error(src, where + ".attention.n_heads_in_group does not divide num_attention_heads");
            if (kvHeads && *kvHeads != c.numHeads / group)
                throw Error(
                    src, where + ": layers with different numbers of KV heads are not supported by LayerLab");
            kvHeads = c.numHeads / group;
        }
        if (c.ffnKind[l] == SubLayerKind::Full) {
            int64_t width = 0;
            if (ffn.contains("intermediate_size") && !ffn["intermediate_size"].is_null())
                width = r.positive(ffn["intermediate_size"], where + ".ffn.intermediate_size");
            else if (ffn.contains("ffn_mult") && ffn["ffn_mult"].is_number() &&
                     ffn["ffn_mult"].get<double>() > 0) {
                if (2.0 * ffn["ffn_mult"].get<double>() * static_cast<double>(c.hiddenSize) / 3.0 >
                    static_cast<double>(kMaxConfigInt))
                    throw Error(src, where + ".ffn.ffn_mult is too large");
                width = nemotronNasIntermediateSize(ffn["ffn_mult"].get<double>(), c.hiddenSize);
            } else
                throw Error(src, where + ".ffn needs a positive 'ffn_mult' or 'intermediate_size'");
            if (intermediate && *intermediate != width)
                throw Error(src, where + ": layers with different FFN widths are not supported by LayerLab");
            intermediate = width;
        }
    }
    c.numKvHeads = kvHeads ? *kvHeads : r.optInt("num_key_value_heads").value_or(c.numHeads);
    c.intermediateSize = intermediate ? *intermediate : r.optInt("intermediate_size").value_or(0);
}

} // namespace

int64_t nemotronNasIntermediateSize(double ffnMult, int64_t hiddenSize) {
    const auto n = static_cast<int64_t>(2.0 * ffnMult * static_cast<double>(hiddenSize) / 3.0);
    return n % 256 == 0 ? n : n + 256 - n % 256;
}

ModelConfig ModelConfig::fromJson(const json& j, const fs::path& src) try {
    if (!j.is_object()) throw Error(src, "config is not a JSON object");
    Reader r(j, src);
    ModelConfig c;
    c.raw = j;

    std::string arch;
    if (j.contains("architectures") && j["architectures"].is_array() && !j["architectures"].empty() &&
        j["architectures"][0].is_string())
        arch = j["architectures"][0];
    c.modelType = r.text("model_type", "");
    if (arch.empty()) {
        // Some configs omit `architectures`; model_type is enough for these families.
        if (c.modelType == "llama")
            arch = "LlamaForCausalLM";
        else if (c.modelType == "mistral")
            arch = "MistralForCausalLM";
        else if (c.modelType == "qwen2")
            arch = "Qwen2ForCausalLM";
    }
    if (arch.empty() && c.modelType == "nemotron-nas") arch = "DeciLMForCausalLM";
    if (arch == "DeciLMForCausalLM") {
        // Nemotron-NAS: a Llama with per-layer block configs (parsed below).
        c.architecture = Architecture::Llama;
        c.nemotronNas = true;
    } else if (arch == "LlamaForCausalLM")
        c.architecture = Architecture::Llama;
    else if (arch == "MistralForCausalLM")
        c.architecture = Architecture::Mistral;
    else if (arch == "Qwen2ForCausalLM")
        c.architecture = Architecture::Qwen2;
    else
        throw Error(src, "unknown architecture '" + (arch.empty() ? c.modelType : arch) +
                             "' (supported: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, "
                             "DeciLMForCausalLM)");

    c.vocabSize = r.positiveInt("vocab_size");
    c.hiddenSize = r.positiveInt("hidden_size");
    c.numLayers = r.positiveInt("num_hidden_layers");
    if (c.numLayers > kMaxLayers)
        throw Error(src, "num_hidden_layers " + std::to_string(c.numLayers) + " exceeds the limit of " +
                             std::to_string(kMaxLayers));
    c.numHeads = r.positiveInt("num_attention_heads");
    c.attentionKind.assign(static_cast<size_t>(c.numLayers), SubLayerKind::Full);
    c.ffnKind.assign(static_cast<size_t>(c.numLayers), SubLayerKind::Full);
    c.slidingWindow.assign(static_cast<size_t>(c.numLayers), 0);
    if (c.nemotronNas) {
        parseBlockConfigs(j, src, r, c);
    } else {
        c.intermediateSize = r.positiveInt("intermediate_size");
        c.numKvHeads = r.optInt("num_key_value_heads").value_or(c.numHeads);
    }
    if (c.numHeads % c.numKvHeads != 0)
        throw Error(src, "num_attention_heads (" + std::to_string(c.numHeads) +
                             ") is not a multiple of num_key_value_heads (" + std::to_string(c.numKvHeads) +
                             ")");
    auto headDim = r.optInt("head_dim");
    if (headDim)
        c.headDim = *headDim;
    else {
        if (c.hiddenSize % c.numHeads != 0)
            throw Error(src, "hidden_size is not a multiple of num_attention_heads and no head_dim is given");
        c.headDim = c.hiddenSize / c.numHeads;
    }
    if (c.headDim % 2 != 0) throw Error(src, "head_dim must be even for rotary embeddings");
    c.maxPositionEmbeddings = r.optInt("max_position_embeddings").value_or(2048);
    c.rmsNormEps = r.number(j, "rms_norm_eps", 1e-6);
    if (c.rmsNormEps <= 0) throw Error(src, "rms_norm_eps must be positive");
    c.tieWordEmbeddings = r.flag("tie_word_embeddings", false);

    const std::string act = r.text("hidden_act", "silu");
    if (act != "silu" && act != "swish")
        throw Error(src, "unsupported hidden_act '" + act + "' (Llama-family models use silu)");

    if (c.architecture == Architecture::Qwen2) {
        c.qkvBias = true; // Qwen2 always has q/k/v biases and none on o_proj
        c.oBias = false;
    } else {
        c.qkvBias = c.oBias = r.flag("attention_bias", false);
        // DeciLM's newer configuration names the o_proj bias on its own.
        if (c.nemotronNas && r.flag("o_proj_bias", false)) c.oBias = true;
    }
    c.mlpBias = r.flag("mlp_bias", false);
    c.rope = parseRope(j, src, r);

    const auto window = r.optInt("sliding_window");
    if (window && !c.nemotronNas) {
        if (c.architecture == Architecture::Mistral) {
            c.slidingWindow.assign(static_cast<size_t>(c.numLayers), *window);
        } else if (c.architecture == Architecture::Qwen2 && r.flag("use_sliding_window", false)) {
            // Qwen2 windows the layers from max_window_layers on, or as `layer_types` says.
            if (j.contains("layer_types") && j["layer_types"].is_array() &&
                j["layer_types"].size() == static_cast<size_t>(c.numLayers)) {
                for (int64_t l = 0; l < c.numLayers; ++l)
                    if (j["layer_types"][l] == "sliding_attention") c.slidingWindow[l] = *window;
            } else {
                const int64_t first = r.optInt("max_window_layers").value_or(c.numLayers);
                for (int64_t l = first; l < c.numLayers; ++l)
                    c.slidingWindow[l] = *window;
            }
        }
    }

    if (j.contains("dtype") && j["dtype"].is_string())
        c.dtype = j["dtype"];
    else if (j.contains("torch_dtype") && j["torch_dtype"].is_string())
        c.dtype = j["torch_dtype"];
    if (j.contains("bos_token_id") && j["bos_token_id"].is_number_integer()) c.bosTokenId = j["bos_token_id"];
    if (j.contains("eos_token_id")) {
        const auto& e = j["eos_token_id"];
        if (e.is_number_integer())
            c.eosTokenIds.push_back(e.get<int64_t>());
        else if (e.is_array())
            for (const auto& x : e)
                if (x.is_number_integer()) c.eosTokenIds.push_back(x.get<int64_t>());
    }
    return c;
} catch (const json::exception& e) {
    // A field of an unexpected type that no check above names.
    throw Error(src, std::string("unexpected content (") + e.what() + ")");
}

ModelConfig ModelConfig::load(const fs::path& path) {
    if (!fs::exists(path)) throw Error(path, "cannot open (is this a Hugging Face model folder?)");
    return fromJson(readJsonFile(path, 16u << 20), path);
}

} // namespace layerlab
