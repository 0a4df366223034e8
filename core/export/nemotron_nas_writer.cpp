// The nemotron-nas format: NVIDIA's DeciLM layout (Llama-3.1-Nemotron-51B), one block_configs
// entry per exported layer. A removed sub-layer becomes no_op, a low-rank stand-in a
// replace_with_linear layer, a sliding window window_length; a layer with nothing left is
// dropped. The folder carries LayerLab's own configuration_decilm.py / modeling_decilm.py
// (core/export/decilm/), which config.json's auto_map names. The tensors those decisions
// call for (linear_attn / linear_mlp, FFN padded to ffnWidth) are made in export_tensors.cpp.
#include "common/error.h"
#include "export/decilm_files.h"
#include "export/export_plan.h"
#include "export/format_writer.h"

namespace layerlab::export_detail {

namespace {

class NemotronNasWriter : public FormatWriter {
public:
    Slot removedSlot() const override { return Slot::Absent; }
    bool holdsLinearLayers() const override { return true; }
    // DeciLM: attention_bias gives q, k, v and o biases together, whatever the source architecture.
    bool hasLlamaBiasFlags(const ModelConfig&) const override { return true; }

    void planFfnWidth(ExportPlan& plan) const override {
        // DeciLM gives FFN widths as ffn_mult, which can only say multiples of 256: a narrower or odd
        // width is padded with zero rows/columns (silu(0) * 0 = 0: the same outputs).
        const int64_t H = plan.c.hiddenSize;
        plan.ffnWidth = (plan.c.intermediateSize + 255) / 256 * 256;
        plan.ffnMult = 1.5 * static_cast<double>(plan.ffnWidth) / static_cast<double>(H);
        if (nemotronNasIntermediateSize(plan.ffnMult, H) != plan.ffnWidth)
            throw Error("cannot express the FFN width " + std::to_string(plan.ffnWidth) +
                        " as a DeciLM ffn_mult");
        if (plan.ffnWidth != plan.c.intermediateSize)
            plan.notes.push_back(
                "FFN width padded with zeros from " + std::to_string(plan.c.intermediateSize) + " to " +
                std::to_string(plan.ffnWidth) + " (Nemotron-NAS ffn_mult gives multiples of 256)");
    }

    nlohmann::json config(const ExportPlan& plan) const override {
        nlohmann::json j = hfConfig(plan);
        // DeciLM's config always states both bias flags.
        j["attention_bias"] = plan.outQkvBias || plan.outOBias;
        j["mlp_bias"] = plan.outMlpBias;
        j["architectures"] = {"DeciLMForCausalLM"};
        j["model_type"] = "nemotron-nas";
        j["auto_map"] = {{"AutoConfig", "configuration_decilm.DeciLMConfig"},
                         {"AutoModelForCausalLM", "modeling_decilm.DeciLMForCausalLM"}};
        j["o_proj_bias"] = plan.outOBias;
        j["intermediate_size"] = nullptr;
        j["num_key_value_heads"] = nullptr;
        for (const char* key : {"layer_types", "sliding_window", "use_sliding_window", "max_window_layers"})
            j.erase(key);
        // The loaders of this layout (NVIDIA's and ours, vLLM, mlx-lm) read the classic RoPE fields,
        // and mlx-lm refuses a rope_scaling without rope_type: they are written from the parsed
        // source, whichever form (rope_parameters, legacy "type") it had.
        j.erase("rope_parameters");
        j["rope_theta"] = plan.c.rope.theta;
        if (plan.c.rope.type == RopeType::Default)
            j["rope_scaling"] = nullptr;
        else {
            nlohmann::json s = {{"rope_type", ropeTypeName(plan.c.rope.type)},
                                {"factor", plan.c.rope.factor}};
            if (plan.c.rope.type == RopeType::Llama3) {
                s["low_freq_factor"] = plan.c.rope.lowFreqFactor;
                s["high_freq_factor"] = plan.c.rope.highFreqFactor;
                s["original_max_position_embeddings"] = plan.c.rope.originalMaxPositionEmbeddings;
            }
            j["rope_scaling"] = s;
        }
        // Loaders that do not read head_dim derive hidden_size / num_attention_heads, wrong for
        // sources such as Mistral-Nemo; 4.4x-era loaders read torch_dtype, 5.x dtype.
        j["head_dim"] = plan.c.headDim;
        if (j.contains("dtype") && j["dtype"].is_string() && !j.contains("torch_dtype"))
            j["torch_dtype"] = j["dtype"];
        if (j.contains("torch_dtype") && j["torch_dtype"].is_string()) j["dtype"] = j["torch_dtype"];
        nlohmann::json blocks = nlohmann::json::array();
        for (int64_t l : plan.sourceLayer) {
            const auto li = static_cast<size_t>(l);
            const Slot a = plan.attn[li], f = plan.ffn[li];
            nlohmann::json attn = {
                {"no_op", a == Slot::Absent},  {"replace_with_linear", a == Slot::Linear},
                {"n_heads_in_group", nullptr}, {"sparsify", nullptr},
                {"num_sink_tokens", nullptr},  {"use_prefill_window_in_sink_attention", false},
                {"unshifted_sink", false},     {"window_length", nullptr}};
            if (a == Slot::Full) {
                attn["n_heads_in_group"] = plan.c.numHeads / plan.c.numKvHeads;
                const int64_t w = plan.c.slidingWindow[li];
                if (w > 0 && w < plan.c.maxPositionEmbeddings) attn["window_length"] = w;
            }
            nlohmann::json ffn = {{"no_op", f == Slot::Absent},
                                  {"replace_with_linear", f == Slot::Linear},
                                  {"ffn_mult", nullptr},
                                  {"sparsify", nullptr}};
            if (f == Slot::Full) ffn["ffn_mult"] = plan.ffnMult;
            blocks.push_back({{"attention", attn}, {"ffn", ffn}});
        }
        j["block_configs"] = blocks;
        return j;
    }

    std::vector<std::pair<std::string, std::string>> codeFiles() const override {
        std::vector<std::pair<std::string, std::string>> files;
        for (const auto& f : kDecilmFiles)
            files.emplace_back(f.name, f.text);
        return files;
    }

    std::vector<RuntimeSupport> runtimes(const ExportPlan& plan) const override {
        bool linear = false, window = false, attention = false;
        for (int64_t l : plan.sourceLayer) {
            const auto li = static_cast<size_t>(l);
            linear = linear || plan.attn[li] == Slot::Linear || plan.ffn[li] == Slot::Linear;
            attention = attention || plan.attn[li] == Slot::Full;
            const int64_t w = plan.c.slidingWindow[li];
            window = window || (plan.attn[li] == Slot::Full && w > 0 && w < plan.c.maxPositionEmbeddings);
        }
        const bool firstAttentionRemoved =
            plan.attn[static_cast<size_t>(plan.sourceLayer.front())] != Slot::Full;
        auto verdict = [](std::string runtime, const std::vector<std::pair<bool, std::string>>& refusals,
                          std::string how) {
            for (const auto& [refused, why] : refusals)
                if (refused) return RuntimeSupport{std::move(runtime), Loads::No, why};
            return RuntimeSupport{std::move(runtime), Loads::Yes, std::move(how)};
        };
        // vLLM: vllm/model_executor/models/nemotron_nas.py (DeciLMDecoderLayer builds full attention
        // or nothing; the first layer's FFN norm needs the residual its attention sets) and
        // vllm/config/model.py (KV heads from the first attention that is not no_op).
        const auto vllm = verdict("vLLM",
                                  {{linear, "linear replacements (vLLM has no replace_with_linear)"},
                                   {!attention, "every attention is removed (it cannot size the KV cache)"},
                                   {firstAttentionRemoved && attention,
                                    "layer 0's attention is removed (its FFN norm gets no residual)"},
                                   {window, "sliding windows (it ignores window_length)"}},
                                  "with trust_remote_code=True (configuration_decilm.py)");
        // mlx-lm: mlx_lm/models/nemotron-nas.py (linear layers named self_attn.linear / mlp.linear and
        // loaded strictly, head_dim taken as hidden_size / num_attention_heads, the first attention's
        // cache indexed unconditionally, window_length unused).
        const bool headDimDiffers = plan.c.headDim * plan.c.numHeads != plan.c.hiddenSize;
        const auto mlx =
            verdict("mlx-lm",
                    {{linear, "linear replacements (it expects self_attn.linear / mlp.linear)"},
                     {headDimDiffers, "head_dim " + std::to_string(plan.c.headDim) +
                                          " is not hidden_size / num_attention_heads (it assumes so)"},
                     {!attention, "every attention is removed (it indexes the first attention's cache)"},
                     {window, "sliding windows (it ignores window_length)"}},
                    "as nemotron-nas");
        return {
            {"transformers", Loads::Yes,
             "AutoModelForCausalLM with trust_remote_code=True (modeling_decilm.py in the folder)"},
            vllm,
            mlx,
            {"llama.cpp", Loads::Unchecked, "not checked against convert_hf_to_gguf.py's DeciLM support"}};
    }
};

} // namespace

std::unique_ptr<FormatWriter> makeNemotronNasWriter() {
    return std::make_unique<NemotronNasWriter>();
}

} // namespace layerlab::export_detail
