// The nemotron-nas format: NVIDIA's DeciLM layout (Llama-3.1-Nemotron-51B), one block_configs
// entry per exported layer. A removed sub-layer becomes no_op, a low-rank stand-in a
// replace_with_linear layer; a layer with nothing left is dropped. The tensors those decisions
// call for (linear_attn / linear_mlp, FFN padded to ffnWidth) are made in export_tensors.cpp.
#include "common/error.h"
#include "export/export_plan.h"
#include "export/format_writer.h"

namespace layerlab::export_detail {

namespace {

class NemotronNasWriter : public FormatWriter {
public:
    void checkSource(const ExportPlan& plan) const override {
        for (int64_t w : plan.c.slidingWindow)
            if (w > 0 && w < plan.c.maxPositionEmbeddings)
                throw Error(plan.source,
                            "uses sliding-window attention, which LayerLab does not write in the "
                            "Nemotron-NAS layout; use --format zeroed");
    }
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
        // DeciLM's configuration reads the classic RoPE fields.
        if (!j.contains("rope_theta")) j["rope_theta"] = plan.c.rope.theta;
        if (!j.contains("rope_scaling")) {
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
        }
        nlohmann::json blocks = nlohmann::json::array();
        for (int64_t l : plan.sourceLayer) {
            const auto li = static_cast<size_t>(l);
            const Slot a = plan.attn[li], f = plan.ffn[li];
            nlohmann::json attn = {
                {"no_op", a == Slot::Absent},  {"replace_with_linear", a == Slot::Linear},
                {"n_heads_in_group", nullptr}, {"sparsify", nullptr},
                {"num_sink_tokens", nullptr},  {"use_prefill_window_in_sink_attention", false},
                {"unshifted_sink", false},     {"window_length", nullptr}};
            if (a == Slot::Full) attn["n_heads_in_group"] = plan.c.numHeads / plan.c.numKvHeads;
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
};

} // namespace

std::unique_ptr<FormatWriter> makeNemotronNasWriter() {
    return std::make_unique<NemotronNasWriter>();
}

} // namespace layerlab::export_detail
