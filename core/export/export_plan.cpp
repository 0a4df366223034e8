#include "export/export_plan.h"

#include "common/error.h"
#include "model/tensor_names.h"

namespace layerlab::export_detail {

namespace {

torch::Tensor f32(const torch::Tensor& t) {
    return t.detach().to(torch::kCPU, torch::kFloat32);
}

} // namespace

const char* slotName(Slot s) {
    switch (s) {
    case Slot::Full:
        return "full";
    case Slot::Zeroed:
        return "zeroed";
    case Slot::Linear:
        return "replace_with_linear";
    case Slot::Absent:
        return "no_op";
    }
    return "?";
}

const char* dtypeConfigName(torch::ScalarType t) {
    switch (t) {
    case torch::kFloat32:
        return "float32";
    case torch::kBFloat16:
        return "bfloat16";
    case torch::kFloat16:
        return "float16";
    default:
        return "?";
    }
}

std::string unitLabel(Unit u, int64_t layer) {
    return std::string(unitName(u)) + ":" + std::to_string(layer);
}

std::unique_ptr<FormatWriter> makeFormatWriter(ExportFormat format) {
    switch (format) {
    case ExportFormat::NemotronNas:
        return makeNemotronNasWriter();
    case ExportFormat::Zeroed:
        return makeZeroedWriter();
    case ExportFormat::Auto:
    case ExportFormat::HuggingFace:
        break;
    }
    return makeHfWriter();
}

ExportPlan::ExportPlan(const std::filesystem::path& source, const ExportRequest& request)
    : source(source), req(request), ckpt(Checkpoint::open(source)), c(ckpt.config()) {}

ExportPlan::~ExportPlan() = default;

void ExportPlan::checkRequest() {
    if (c.nemotronNas)
        throw Error(source, "is a Nemotron-NAS checkpoint; LayerLab exports from standard Llama, Mistral "
                            "and Qwen2 checkpoints (export from the original model instead)");
    if (req.mask.numLayers() != c.numLayers)
        throw Error("the removal mask has " + std::to_string(req.mask.numLayers()) + " layers but " +
                    source.string() + " has " + std::to_string(c.numLayers));
    if (req.dtype && *req.dtype != torch::kFloat32 && *req.dtype != torch::kBFloat16 &&
        *req.dtype != torch::kFloat16)
        throw Error("the export dtype must be f32, bf16 or f16");
    if (req.shardBytes == 0) throw Error("the shard size must be positive");
    format = req.format == ExportFormat::Auto ? defaultExportFormat(req.mask) : req.format;
    formatWriter = makeFormatWriter(format);
    formatWriter->checkSource(*this);

    const int64_t H = c.hiddenSize;
    for (const auto& a : req.adapters.units) {
        const std::string what = "adapter " + unitLabel(a.unit, a.layer);
        if (a.layer < 0 || a.layer >= c.numLayers) throw Error(what + ": layer out of range");
        if (!a.bias.defined() || a.bias.numel() != H ||
            (a.down.defined() &&
             (!a.up.defined() || a.down.dim() != 2 || a.up.dim() != 2 || a.down.size(0) != H ||
              a.up.size(1) != H || a.down.size(1) != a.up.size(0))))
            throw Error(what + " does not fit the hidden size " + std::to_string(H));
        Adapter copy = a;
        copy.bias = f32(a.bias).reshape({H});
        if (a.down.defined()) {
            copy.down = f32(a.down);
            copy.up = f32(a.up);
        }
        if (!unitAdapters.emplace(std::make_pair(static_cast<int>(a.unit), a.layer), copy).second)
            throw Error(what + " is given twice");
    }
    for (const auto& a : req.adapters.lora) {
        const std::string what =
            "LoRA adapter " + std::to_string(a.layer) + "." + projectionName(a.projection);
        if (a.layer < 0 || a.layer >= c.numLayers) throw Error(what + ": layer out of range");
        const auto [out, in] = projectionShape(c, a.projection);
        if (!a.down.defined() || !a.up.defined() || a.down.dim() != 2 || a.up.dim() != 2 ||
            a.down.size(0) != in || a.up.size(1) != out || a.down.size(1) != a.up.size(0))
            throw Error(what + " does not fit the projection's shape");
        LoraAdapter copy = a;
        copy.down = f32(a.down);
        copy.up = f32(a.up);
        if (!lora.emplace(std::make_pair(a.layer, static_cast<int>(a.projection)), copy).second)
            throw Error(what + " is given twice");
    }
}

void ExportPlan::addStandIn(const Adapter& a, int64_t s, Unit removedUnit) {
    const std::string label = unitLabel(a.unit, a.layer);
    const std::string fmt = exportFormatName(format);
    if (a.down.defined()) {
        if (a.unit == Unit::Block)
            throw Error("the low-rank stand-in for " + label +
                        " cannot be exported: it maps the un-normalised block input, which no checkpoint "
                        "format holds (Nemotron-NAS linear layers map a sub-layer's normalised input). Fit a "
                        "bias stand-in for the block, or remove and fit attn:L and ffn:L instead");
        if (!formatWriter->holdsLinearLayers())
            throw Error("the low-rank stand-in for " + label + " cannot be held by the " + fmt +
                        " format; use --format nemotron-nas (it becomes a replace_with_linear layer)");
        slot(s) = Slot::Linear;
        // update = x down up  ==  x W^T with W = (down up)^T, [H, H]
        auto w = torch::matmul(a.down, a.up).t().contiguous();
        (removedUnit == Unit::Attention ? attnLinear : ffnLinear)[a.layer] = w;
        foldedInto[label].push_back("(linear)");
    }
    if (a.bias.abs().max().item<float>() != 0.0f) constants.push_back({s, a.bias, label});
    adapterRecords[label] = {{"unit", unitName(a.unit)},
                             {"layer", a.layer},
                             {"rank", a.rank()},
                             {"bias_norm", a.bias.norm().item<double>()}};
}

void ExportPlan::planSlots() {
    const auto& m = req.mask;
    const size_t N = static_cast<size_t>(c.numLayers);
    attn.assign(N, Slot::Full);
    ffn.assign(N, Slot::Full);
    for (int64_t l = 0; l < c.numLayers; ++l) {
        const auto li = static_cast<size_t>(l);
        const bool attnOn = m.attentionOn(l), ffnOn = m.ffnOn(l);
        formatWriter->checkLayer(l, attnOn, ffnOn);
        const Slot removed = formatWriter->removedSlot();
        attn[li] = attnOn ? Slot::Full : removed;
        ffn[li] = ffnOn ? Slot::Full : removed;
        // What the model runs in place of removed units (Model::runLayers): a removed block's own
        // adapter, or else the sub-layers' adapters.
        const Adapter* block = m.isRemoved(Unit::Block, l) ? unitAdapter(Unit::Block, l) : nullptr;
        if (!attnOn && !block)
            if (const auto* a = unitAdapter(Unit::Attention, l)) addStandIn(*a, 2 * l, Unit::Attention);
        if (!ffnOn && !block)
            if (const auto* a = unitAdapter(Unit::Ffn, l)) addStandIn(*a, 2 * l + 1, Unit::Ffn);
        if (block) addStandIn(*block, 2 * l + 1, Unit::Block);
    }
    // Adapters that do not act under this mask are not exported (they do nothing in the model).
    for (const auto& [key, a] : unitAdapters)
        if (!adapterRecords.contains(unitLabel(a.unit, a.layer)))
            adapterRecords[unitLabel(a.unit, a.layer)] = {{"unit", unitName(a.unit)},
                                                          {"layer", a.layer},
                                                          {"rank", a.rank()},
                                                          {"status", "inactive: its unit is not removed"}};

    exportedIndex.assign(N, -1);
    for (int64_t l = 0; l < c.numLayers; ++l) {
        const auto li = static_cast<size_t>(l);
        if (attn[li] == Slot::Absent && ffn[li] == Slot::Absent) continue;
        exportedIndex[li] = static_cast<int64_t>(sourceLayer.size());
        sourceLayer.push_back(l);
    }
    if (sourceLayer.empty()) throw Error("the removal set removes every layer; nothing is left to export");
}

void ExportPlan::foldConstants() {
    const bool llamaBiases = formatWriter->hasLlamaBiasFlags(c);
    for (const auto& k : constants) {
        int64_t target = -1;
        for (int64_t s = k.slot; s >= 0; --s)
            if (slot(s) != Slot::Absent) {
                target = s;
                break;
            }
        if (target < 0) {
            embeddingDelta = embeddingDelta.defined() ? embeddingDelta + k.value : k.value.clone();
            foldedInto[k.what].push_back(tensorName(TensorRole::Embedding));
            continue;
        }
        const int64_t layer = target / 2;
        const bool isAttn = target % 2 == 0;
        const std::string writer = std::string(isAttn ? "attn:" : "ffn:") + std::to_string(layer);
        if (slot(target) == Slot::Linear)
            throw Error("the bias of the stand-in for " + k.what +
                        " cannot be exported: it is added right after " + writer +
                        ", a replace_with_linear layer, and Nemotron-NAS linear layers have no bias. "
                        "Refit the stand-in without a bias, or remove the unit without a stand-in");
        if (!llamaBiases)
            throw Error("the bias stand-in for " + k.what + " would be folded into the output bias of " +
                        writer + " (" + (isAttn ? "o_proj" : "down_proj") + "), but " +
                        architectureName(c.architecture) +
                        " has no such bias in transformers; export with --format nemotron-nas or without "
                        "that adapter");
        auto& deltas = isAttn ? oBiasDelta : downBiasDelta;
        auto& d = deltas[layer];
        d = d.defined() ? d + k.value : k.value.clone();
        foldedInto[k.what].push_back(tensorName(isAttn ? TensorRole::OBias : TensorRole::DownBias,
                                                exportedIndex[static_cast<size_t>(layer)]));
    }
    if (embeddingDelta.defined() && c.tieWordEmbeddings) {
        untie = true;
        notes.push_back("tie_word_embeddings turned off: a bias stand-in was added to the embedding rows, "
                        "so lm_head.weight keeps the original embedding");
    }
}

void ExportPlan::planFlags() {
    outQkvBias = c.qkvBias;
    outOBias = c.oBias;
    outMlpBias = c.mlpBias || !downBiasDelta.empty();
    // Llama's (and DeciLM's) attention_bias gives q, k, v and o biases together.
    if (formatWriter->hasLlamaBiasFlags(c))
        outQkvBias = outOBias = c.qkvBias || c.oBias || !oBiasDelta.empty();
    if (outQkvBias && !c.qkvBias)
        notes.push_back("attention_bias turned on (zero biases added) to hold a folded bias");
    if (outMlpBias && !c.mlpBias)
        notes.push_back("mlp_bias turned on (zero biases added) to hold a folded bias");
}

void ExportPlan::planFfnWidth() {
    ffnWidth = c.intermediateSize;
    formatWriter->planFfnWidth(*this);
}

} // namespace layerlab::export_detail
