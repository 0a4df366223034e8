// The hf format: the source's architecture with the removed blocks dropped and the other layers
// renumbered.
#include "common/error.h"
#include "export/export_plan.h"
#include "export/format_writer.h"

namespace layerlab::export_detail {

namespace {

class HfWriter : public FormatWriter {
public:
    // A block that keeps one sub-layer cannot be written without changing the architecture.
    void checkLayer(int64_t l, bool attnOn, bool ffnOn) const override {
        if (attnOn != ffnOn)
            throw Error(std::string("the hf format drops whole blocks only, but layer ") + std::to_string(l) +
                        " keeps its " + (attnOn ? "attention" : "FFN") + " and loses its " +
                        (attnOn ? "FFN" : "attention") + "; use --format nemotron-nas or --format zeroed");
    }
    Slot removedSlot() const override { return Slot::Absent; }
    bool hasLlamaBiasFlags(const ModelConfig& c) const override {
        return c.architecture == Architecture::Llama;
    }
    nlohmann::json config(const ExportPlan& plan) const override { return hfConfig(plan); }
    std::vector<RuntimeSupport> runtimes(const ExportPlan& plan) const override {
        return sourceArchitectureRuntimes(plan);
    }
};

} // namespace

std::vector<RuntimeSupport> sourceArchitectureRuntimes(const ExportPlan& plan) {
    // The source's own architecture with its usual tensor names, so every runtime that loads the
    // source loads the export. The only additions are Llama's attention_bias / mlp_bias, which
    // transformers, vLLM (models/llama.py: bias and bias_o_proj from attention_bias), mlx-lm
    // (models/llama.py) and llama.cpp (src/llama-model.cpp: optional q/k/v/o and MLP biases) all read.
    const std::string arch = architectureName(plan.c.architecture);
    return {{"transformers", Loads::Yes, "AutoModelForCausalLM, as " + arch},
            {"vLLM", Loads::Yes, "as " + arch},
            {"mlx-lm", Loads::Yes, "as " + arch},
            {"llama.cpp", Loads::Yes, "convert_hf_to_gguf.py, as " + arch}};
}

std::unique_ptr<FormatWriter> makeHfWriter() {
    return std::make_unique<HfWriter>();
}

nlohmann::json hfConfig(const ExportPlan& plan) {
    nlohmann::json j = plan.c.raw;
    const auto N = static_cast<int64_t>(plan.sourceLayer.size());
    j["num_hidden_layers"] = N;
    if (plan.req.dtype) {
        const char* name = dtypeConfigName(*plan.req.dtype);
        if (j.contains("torch_dtype")) j["torch_dtype"] = name;
        if (j.contains("dtype") || !j.contains("torch_dtype")) j["dtype"] = name;
    }
    if (plan.untie) j["tie_word_embeddings"] = false;
    // Bias flags: Llama's attention_bias and mlp_bias, written when they changed.
    if (plan.c.architecture == Architecture::Llama) {
        if (j.contains("attention_bias") || plan.outQkvBias != plan.c.qkvBias)
            j["attention_bias"] = plan.outQkvBias || plan.outOBias;
        if (j.contains("mlp_bias") || plan.outMlpBias != plan.c.mlpBias) j["mlp_bias"] = plan.outMlpBias;
    }
    // Qwen2 says per layer which layers use the sliding window: keep that for the kept layers.
    if (plan.c.architecture == Architecture::Qwen2 &&
        ((j.contains("layer_types") && j["layer_types"].is_array()) ||
         j.value("use_sliding_window", false))) {
        nlohmann::json types = nlohmann::json::array();
        for (int64_t l : plan.sourceLayer)
            types.push_back(plan.c.slidingWindow[static_cast<size_t>(l)] > 0 ? "sliding_attention"
                                                                             : "full_attention");
        j["layer_types"] = types;
    }
    return j;
}

} // namespace layerlab::export_detail
