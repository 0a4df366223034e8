#include "export/checkpoint_export.h"

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/file_tree.h"
#include "io/sha256.h"
#include "model/checkpoint.h"
#include "model/model.h"
#include "model/tensor_names.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <map>
#include <random>
#include <set>

namespace layerlab {

namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

const char* exportFormatName(ExportFormat f) {
    switch (f) {
    case ExportFormat::Auto:
        return "auto";
    case ExportFormat::HuggingFace:
        return "hf";
    case ExportFormat::NemotronNas:
        return "nemotron-nas";
    case ExportFormat::Zeroed:
        return "zeroed";
    }
    return "?";
}

ExportFormat parseExportFormat(const std::string& name) {
    for (auto f :
         {ExportFormat::Auto, ExportFormat::HuggingFace, ExportFormat::NemotronNas, ExportFormat::Zeroed})
        if (name == exportFormatName(f)) return f;
    throw Error("unknown export format '" + name + "' (hf, nemotron-nas or zeroed)");
}

ExportFormat defaultExportFormat(const LayerMask& mask) {
    for (int64_t l = 0; l < mask.numLayers(); ++l)
        if (mask.attentionOn(l) != mask.ffnOn(l)) return ExportFormat::NemotronNas;
    return ExportFormat::HuggingFace;
}

uint64_t parseByteSize(const std::string& text) {
    size_t digits = 0;
    while (digits < text.size() &&
           (std::isdigit(static_cast<unsigned char>(text[digits])) || text[digits] == '.'))
        ++digits;
    std::string unit = text.substr(digits);
    for (auto& c : unit)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    static const std::map<std::string, double> units = {
        {"", 1},         {"B", 1},           {"KB", 1e3},           {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
        {"KIB", 1024.0}, {"MIB", 1048576.0}, {"GIB", 1073741824.0}, {"K", 1e3},  {"M", 1e6},  {"G", 1e9}};
    const auto it = units.find(unit);
    double value = 0;
    try {
        size_t used = 0;
        value = digits ? std::stod(text.substr(0, digits), &used) : -1;
        if (used != digits) value = -1;
    } catch (const std::exception&) {
        value = -1;
    }
    if (it == units.end() || !(value > 0) || value * it->second >= 1.8e19)
        throw Error("cannot read the size '" + text + "' (examples: 5GB, 500MB, 64KiB, 1000000)");
    return static_cast<uint64_t>(std::llround(value * it->second));
}

namespace {

// How a sub-layer appears in the export.
enum class Slot { Full, Zeroed, Linear, Absent };

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

std::string utcNow() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string gigabytes(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f GB", static_cast<double>(bytes) / 1e9);
    return buf;
}

torch::Tensor f32(const torch::Tensor& t) {
    return t.detach().to(torch::kCPU, torch::kFloat32);
}

// Files beside the weights that belong with the model (tokenizer, generation settings, licence).
bool isCompanionFile(const std::string& name) {
    static const std::vector<std::string> prefixes = {
        "tokenizer",     "special_tokens_map",  "added_tokens", "vocab.",  "merges.txt", "generation_config",
        "chat_template", "preprocessor_config", "README",       "LICENSE", "NOTICE",     "USE_POLICY"};
    for (const auto& p : prefixes)
        if (name.rfind(p, 0) == 0) return true;
    return name.size() > 9 && name.substr(name.size() - 9) == ".tiktoken";
}

bool isInside(const fs::path& inner, const fs::path& outer) {
    auto o = outer.begin();
    auto i = inner.begin();
    for (; o != outer.end(); ++o, ++i) {
        if (o->empty()) continue; // trailing separator
        if (i == inner.end() || *i != *o) return false;
    }
    return true;
}

// One tensor of the export: its name, what it will be and how to make it (lazily, so shards can
// be planned and disk space checked before anything is computed).
struct OutTensor {
    std::string name;
    std::vector<int64_t> shape;
    torch::ScalarType dtype;
    std::function<torch::Tensor()> make;
    uint64_t bytes() const {
        uint64_t n = c10::elementSize(dtype);
        for (int64_t d : shape)
            n *= static_cast<uint64_t>(d);
        return n;
    }
};

TensorRole projectionRole(Projection p) {
    switch (p) {
    case Projection::Q:
        return TensorRole::QProj;
    case Projection::K:
        return TensorRole::KProj;
    case Projection::V:
        return TensorRole::VProj;
    case Projection::O:
        return TensorRole::OProj;
    case Projection::Gate:
        return TensorRole::GateProj;
    case Projection::Up:
        return TensorRole::UpProj;
    case Projection::Down:
        break;
    }
    return TensorRole::DownProj;
}

// Removes the temporary folder unless the export completed.
class TempFolder {
public:
    explicit TempFolder(fs::path p) : path_(std::move(p)) {}
    ~TempFolder() {
        if (!kept_) removeTree(path_);
    }
    TempFolder(const TempFolder&) = delete;
    TempFolder& operator=(const TempFolder&) = delete;
    const fs::path& path() const { return path_; }
    void keep() { kept_ = true; }

private:
    fs::path path_;
    bool kept_ = false;
};

class Exporter {
public:
    Exporter(const fs::path& source, const ExportRequest& request, const Progress& progress)
        : source_(source), req_(request), progress_(progress), ckpt_(Checkpoint::open(source)),
          c_(ckpt_.config()) {}

    ExportResult run();

private:
    // Planning
    void checkRequest();
    void planSlots();
    void foldConstants();
    void planFlags();
    void planFfnWidth();
    void planTensors();
    nlohmann::json outputConfig() const;

    // Writing
    void checkTarget();
    std::vector<std::string> companionFiles() const;
    ojson hashSource(const std::vector<std::string>& companions);
    ojson manifest(const ojson& sourceFiles) const;

    const Adapter* unitAdapter(Unit u, int64_t l) const {
        auto it = unitAdapters_.find({static_cast<int>(u), l});
        return it == unitAdapters_.end() ? nullptr : &it->second;
    }
    Slot& slot(int64_t s) {
        return s % 2 == 0 ? attn_[static_cast<size_t>(s / 2)] : ffn_[static_cast<size_t>(s / 2)];
    }
    torch::ScalarType outDtype(const std::string& sourceName) const {
        return req_.dtype ? *req_.dtype : ckpt_.tensor(sourceName).scalar_type();
    }
    void addStandIn(const Adapter& a, int64_t slot, Unit removedUnit);

    fs::path source_;
    const ExportRequest& req_;
    const Progress& progress_;
    Checkpoint ckpt_;
    const ModelConfig& c_;
    ExportFormat format_ = ExportFormat::HuggingFace;
    bool untie_ = false;

    std::map<std::pair<int, int64_t>, Adapter> unitAdapters_; // (unit, layer)
    std::map<std::pair<int64_t, int>, LoraAdapter> lora_;     // (layer, projection)
    std::vector<Slot> attn_, ffn_;                            // per source layer
    std::map<int64_t, torch::Tensor> attnLinear_, ffnLinear_; // [H, H] float32 weights
    std::vector<int64_t> exportedIndex_;                      // source layer -> exported, -1 dropped
    std::vector<int64_t> sourceLayer_;                        // exported -> source layer
    struct Constant {
        int64_t slot; // the constant is added to the residual stream right after this slot
        torch::Tensor value;
        std::string what;
    };
    std::vector<Constant> constants_;
    torch::Tensor embeddingDelta_;
    std::map<int64_t, torch::Tensor> oBiasDelta_, downBiasDelta_;
    bool outQkvBias_ = false, outOBias_ = false, outMlpBias_ = false;
    int64_t ffnWidth_ = 0;
    double ffnMult_ = 0;
    std::vector<OutTensor> tensors_;
    std::vector<std::string> notes_;
    ojson adapterRecords_ = ojson::object();
    std::map<std::string, std::vector<std::string>> foldedInto_; // adapter label -> tensor names
};

void Exporter::checkRequest() {
    if (c_.nemotronNas)
        throw Error(source_, "is a Nemotron-NAS checkpoint; LayerLab exports from standard Llama, Mistral "
                             "and Qwen2 checkpoints (export from the original model instead)");
    if (req_.mask.numLayers() != c_.numLayers)
        throw Error("the removal mask has " + std::to_string(req_.mask.numLayers()) + " layers but " +
                    source_.string() + " has " + std::to_string(c_.numLayers));
    if (req_.dtype && *req_.dtype != torch::kFloat32 && *req_.dtype != torch::kBFloat16 &&
        *req_.dtype != torch::kFloat16)
        throw Error("the export dtype must be f32, bf16 or f16");
    if (req_.shardBytes == 0) throw Error("the shard size must be positive");
    format_ = req_.format == ExportFormat::Auto ? defaultExportFormat(req_.mask) : req_.format;
    if (format_ == ExportFormat::NemotronNas) {
        for (int64_t w : c_.slidingWindow)
            if (w > 0 && w < c_.maxPositionEmbeddings)
                throw Error(source_, "uses sliding-window attention, which LayerLab does not write in the "
                                     "Nemotron-NAS layout; use --format zeroed");
    }

    const int64_t H = c_.hiddenSize;
    for (const auto& a : req_.adapters.units) {
        const std::string what = "adapter " + unitLabel(a.unit, a.layer);
        if (a.layer < 0 || a.layer >= c_.numLayers) throw Error(what + ": layer out of range");
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
        if (!unitAdapters_.emplace(std::make_pair(static_cast<int>(a.unit), a.layer), copy).second)
            throw Error(what + " is given twice");
    }
    for (const auto& a : req_.adapters.lora) {
        const std::string what =
            "LoRA adapter " + std::to_string(a.layer) + "." + projectionName(a.projection);
        if (a.layer < 0 || a.layer >= c_.numLayers) throw Error(what + ": layer out of range");
        const auto [out, in] = projectionShape(c_, a.projection);
        if (!a.down.defined() || !a.up.defined() || a.down.dim() != 2 || a.up.dim() != 2 ||
            a.down.size(0) != in || a.up.size(1) != out || a.down.size(1) != a.up.size(0))
            throw Error(what + " does not fit the projection's shape");
        LoraAdapter copy = a;
        copy.down = f32(a.down);
        copy.up = f32(a.up);
        if (!lora_.emplace(std::make_pair(a.layer, static_cast<int>(a.projection)), copy).second)
            throw Error(what + " is given twice");
    }
}

void Exporter::addStandIn(const Adapter& a, int64_t s, Unit removedUnit) {
    const std::string label = unitLabel(a.unit, a.layer);
    const std::string fmt = exportFormatName(format_);
    if (a.down.defined()) {
        if (a.unit == Unit::Block)
            throw Error("the low-rank stand-in for " + label +
                        " cannot be exported: it maps the un-normalised block input, which no checkpoint "
                        "format holds (Nemotron-NAS linear layers map a sub-layer's normalised input). Fit a "
                        "bias stand-in for the block, or remove and fit attn:L and ffn:L instead");
        if (format_ != ExportFormat::NemotronNas)
            throw Error("the low-rank stand-in for " + label + " cannot be held by the " + fmt +
                        " format; use --format nemotron-nas (it becomes a replace_with_linear layer)");
        slot(s) = Slot::Linear;
        // update = x down up  ==  x W^T with W = (down up)^T, [H, H]
        auto w = torch::matmul(a.down, a.up).t().contiguous();
        (removedUnit == Unit::Attention ? attnLinear_ : ffnLinear_)[a.layer] = w;
        foldedInto_[label].push_back("(linear)");
    }
    if (a.bias.abs().max().item<float>() != 0.0f) constants_.push_back({s, a.bias, label});
    adapterRecords_[label] = {{"unit", unitName(a.unit)},
                              {"layer", a.layer},
                              {"rank", a.rank()},
                              {"bias_norm", a.bias.norm().item<double>()}};
}

void Exporter::planSlots() {
    const auto& m = req_.mask;
    const size_t N = static_cast<size_t>(c_.numLayers);
    attn_.assign(N, Slot::Full);
    ffn_.assign(N, Slot::Full);
    for (int64_t l = 0; l < c_.numLayers; ++l) {
        const auto li = static_cast<size_t>(l);
        const bool attnOn = m.attentionOn(l), ffnOn = m.ffnOn(l);
        if (format_ == ExportFormat::HuggingFace && attnOn != ffnOn)
            throw Error(std::string("the hf format drops whole blocks only, but layer ") + std::to_string(l) +
                        " keeps its " + (attnOn ? "attention" : "FFN") + " and loses its " +
                        (attnOn ? "FFN" : "attention") + "; use --format nemotron-nas or --format zeroed");
        const Slot removed = format_ == ExportFormat::Zeroed ? Slot::Zeroed : Slot::Absent;
        attn_[li] = attnOn ? Slot::Full : removed;
        ffn_[li] = ffnOn ? Slot::Full : removed;
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
    for (const auto& [key, a] : unitAdapters_)
        if (!adapterRecords_.contains(unitLabel(a.unit, a.layer)))
            adapterRecords_[unitLabel(a.unit, a.layer)] = {{"unit", unitName(a.unit)},
                                                           {"layer", a.layer},
                                                           {"rank", a.rank()},
                                                           {"status", "inactive: its unit is not removed"}};

    exportedIndex_.assign(N, -1);
    for (int64_t l = 0; l < c_.numLayers; ++l) {
        const auto li = static_cast<size_t>(l);
        if (attn_[li] == Slot::Absent && ffn_[li] == Slot::Absent) continue;
        exportedIndex_[li] = static_cast<int64_t>(sourceLayer_.size());
        sourceLayer_.push_back(l);
    }
    if (sourceLayer_.empty()) throw Error("the removal set removes every layer; nothing is left to export");
}

void Exporter::foldConstants() {
    const bool llamaBiases = format_ == ExportFormat::NemotronNas || c_.architecture == Architecture::Llama;
    for (const auto& k : constants_) {
        int64_t target = -1;
        for (int64_t s = k.slot; s >= 0; --s)
            if (slot(s) != Slot::Absent) {
                target = s;
                break;
            }
        if (target < 0) {
            embeddingDelta_ = embeddingDelta_.defined() ? embeddingDelta_ + k.value : k.value.clone();
            foldedInto_[k.what].push_back(tensorName(TensorRole::Embedding));
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
                        architectureName(c_.architecture) +
                        " has no such bias in transformers; export with --format nemotron-nas or without "
                        "that adapter");
        auto& deltas = isAttn ? oBiasDelta_ : downBiasDelta_;
        auto& d = deltas[layer];
        d = d.defined() ? d + k.value : k.value.clone();
        foldedInto_[k.what].push_back(tensorName(isAttn ? TensorRole::OBias : TensorRole::DownBias,
                                                 exportedIndex_[static_cast<size_t>(layer)]));
    }
    if (embeddingDelta_.defined() && c_.tieWordEmbeddings) {
        untie_ = true;
        notes_.push_back("tie_word_embeddings turned off: a bias stand-in was added to the embedding rows, "
                         "so lm_head.weight keeps the original embedding");
    }
}

void Exporter::planFlags() {
    outQkvBias_ = c_.qkvBias;
    outOBias_ = c_.oBias;
    outMlpBias_ = c_.mlpBias || !downBiasDelta_.empty();
    if (format_ == ExportFormat::NemotronNas) {
        // DeciLM: attention_bias gives q, k, v and o biases together.
        outQkvBias_ = outOBias_ = c_.qkvBias || c_.oBias || !oBiasDelta_.empty();
    } else if (c_.architecture == Architecture::Llama) {
        outQkvBias_ = outOBias_ = c_.qkvBias || c_.oBias || !oBiasDelta_.empty();
    }
    if (outQkvBias_ && !c_.qkvBias)
        notes_.push_back("attention_bias turned on (zero biases added) to hold a folded bias");
    if (outMlpBias_ && !c_.mlpBias)
        notes_.push_back("mlp_bias turned on (zero biases added) to hold a folded bias");
}

void Exporter::planFfnWidth() {
    ffnWidth_ = c_.intermediateSize;
    if (format_ != ExportFormat::NemotronNas) return;
    // DeciLM gives FFN widths as ffn_mult, which can only say multiples of 256: a narrower or odd
    // width is padded with zero rows/columns (silu(0) * 0 = 0: the same outputs).
    const int64_t H = c_.hiddenSize;
    ffnWidth_ = (c_.intermediateSize + 255) / 256 * 256;
    ffnMult_ = 1.5 * static_cast<double>(ffnWidth_) / static_cast<double>(H);
    if (nemotronNasIntermediateSize(ffnMult_, H) != ffnWidth_)
        throw Error("cannot express the FFN width " + std::to_string(ffnWidth_) + " as a DeciLM ffn_mult");
    if (ffnWidth_ != c_.intermediateSize)
        notes_.push_back("FFN width padded with zeros from " + std::to_string(c_.intermediateSize) + " to " +
                         std::to_string(ffnWidth_) + " (Nemotron-NAS ffn_mult gives multiples of 256)");
}

void Exporter::planTensors() {
    const int64_t H = c_.hiddenSize;
    auto copy = [&](const std::string& src, const std::string& dst, torch::Tensor delta = {}) {
        const auto& info = ckpt_.info(src);
        const auto dt = outDtype(src);
        tensors_.push_back({dst, info.shape, dt, [this, src, dt, delta] {
                                auto t = ckpt_.tensor(src);
                                if (delta.defined()) return (t.to(torch::kFloat32) + delta).to(dt);
                                return t.to(dt);
                            }});
    };
    auto zeros = [&](const std::string& dst, std::vector<int64_t> shape, torch::ScalarType dt,
                     torch::Tensor value = {}) {
        tensors_.push_back({dst, shape, dt, [shape, dt, value] {
                                return value.defined() ? value.to(dt)
                                                       : torch::zeros(shape, torch::TensorOptions(dt));
                            }});
    };
    auto loraDelta = [&](int64_t l, Projection p) -> torch::Tensor {
        auto it = lora_.find({l, static_cast<int>(p)});
        if (it == lora_.end()) return {};
        const std::string label = "lora." + std::to_string(l) + "." + projectionName(p);
        foldedInto_[label].push_back(tensorName(projectionRole(p), exportedIndex_[static_cast<size_t>(l)]));
        return torch::matmul(it->second.down, it->second.up).t(); // (down up)^T: [out, in]
    };

    const std::string emb = tensorName(TensorRole::Embedding);
    copy(emb, emb, embeddingDelta_.defined() ? embeddingDelta_.unsqueeze(0) : torch::Tensor());

    for (size_t j = 0; j < sourceLayer_.size(); ++j) {
        const int64_t l = sourceLayer_[j];
        const auto li = static_cast<size_t>(l);
        const auto jl = static_cast<int64_t>(j);
        auto src = [&](TensorRole r) { return tensorName(r, l); };
        auto dst = [&](TensorRole r) { return tensorName(r, jl); };
        // Attention
        if (attn_[li] != Slot::Absent) copy(src(TensorRole::InputNorm), dst(TensorRole::InputNorm));
        if (attn_[li] == Slot::Linear) {
            const auto dt = outDtype(src(TensorRole::QProj));
            zeros(dst(TensorRole::LinearAttention), {H, H}, dt, attnLinear_.at(l));
        } else if (attn_[li] != Slot::Absent) {
            const bool zeroed = attn_[li] == Slot::Zeroed;
            for (auto p : {Projection::Q, Projection::K, Projection::V})
                copy(src(projectionRole(p)), dst(projectionRole(p)),
                     zeroed ? torch::Tensor() : loraDelta(l, p));
            const auto oDt = outDtype(src(TensorRole::OProj));
            if (zeroed)
                zeros(dst(TensorRole::OProj), ckpt_.info(src(TensorRole::OProj)).shape, oDt);
            else
                copy(src(TensorRole::OProj), dst(TensorRole::OProj), loraDelta(l, Projection::O));
            if (outQkvBias_)
                for (auto [w, b] : {std::pair{TensorRole::QProj, TensorRole::QBias},
                                    std::pair{TensorRole::KProj, TensorRole::KBias},
                                    std::pair{TensorRole::VProj, TensorRole::VBias}}) {
                    if (c_.qkvBias)
                        copy(src(b), dst(b));
                    else
                        zeros(dst(b), {ckpt_.info(src(w)).shape[0]}, outDtype(src(w)));
                }
            if (outOBias_) {
                auto it = oBiasDelta_.find(l);
                const torch::Tensor delta = it == oBiasDelta_.end() ? torch::Tensor() : it->second;
                if (c_.oBias && !zeroed)
                    copy(src(TensorRole::OBias), dst(TensorRole::OBias), delta);
                else
                    zeros(dst(TensorRole::OBias), {H}, oDt, delta);
            }
        }
        // FFN
        if (ffn_[li] != Slot::Absent)
            copy(src(TensorRole::PostAttentionNorm), dst(TensorRole::PostAttentionNorm));
        if (ffn_[li] == Slot::Linear) {
            const auto dt = outDtype(src(TensorRole::DownProj));
            zeros(dst(TensorRole::LinearFfn), {H, H}, dt, ffnLinear_.at(l));
        } else if (ffn_[li] != Slot::Absent) {
            const bool zeroed = ffn_[li] == Slot::Zeroed;
            const int64_t I = c_.intermediateSize, P = ffnWidth_;
            // Gate and up: [I, H] (+ LoRA), zero-padded to [P, H]; down: [H, I] -> [H, P].
            auto ffnTensor = [&](TensorRole role, Projection p, int dim) {
                const std::string s = src(role);
                const auto dt = outDtype(s);
                const torch::Tensor delta = zeroed ? torch::Tensor() : loraDelta(l, p);
                auto shape = ckpt_.info(s).shape;
                if (P == I) {
                    if (zeroed && role == TensorRole::DownProj)
                        zeros(dst(role), shape, dt);
                    else
                        copy(s, dst(role), delta);
                    return;
                }
                shape[static_cast<size_t>(dim)] = P;
                tensors_.push_back({dst(role), shape, dt, [this, s, dt, delta, shape, dim, I] {
                                        auto t = ckpt_.tensor(s).to(torch::kFloat32);
                                        if (delta.defined()) t = t + delta;
                                        auto out = torch::zeros(shape, torch::kFloat32);
                                        out.narrow(dim, 0, I).copy_(t);
                                        return out.to(dt);
                                    }});
            };
            ffnTensor(TensorRole::GateProj, Projection::Gate, 0);
            ffnTensor(TensorRole::UpProj, Projection::Up, 0);
            ffnTensor(TensorRole::DownProj, Projection::Down, 1);
            if (outMlpBias_) {
                for (auto [w, b] : {std::pair{TensorRole::GateProj, TensorRole::GateBias},
                                    std::pair{TensorRole::UpProj, TensorRole::UpBias}}) {
                    const auto dt = outDtype(src(w));
                    if (c_.mlpBias && P == I)
                        copy(src(b), dst(b));
                    else if (c_.mlpBias)
                        tensors_.push_back({dst(b), {P}, dt, [this, s = src(b), dt, P, I] {
                                                auto out = torch::zeros({P}, torch::kFloat32);
                                                out.narrow(0, 0, I).copy_(
                                                    ckpt_.tensor(s).to(torch::kFloat32));
                                                return out.to(dt);
                                            }});
                    else
                        zeros(dst(b), {P}, dt);
                }
                auto it = downBiasDelta_.find(l);
                const torch::Tensor delta = it == downBiasDelta_.end() ? torch::Tensor() : it->second;
                const auto dt = outDtype(src(TensorRole::DownProj));
                if (c_.mlpBias && !zeroed)
                    copy(src(TensorRole::DownBias), dst(TensorRole::DownBias), delta);
                else
                    zeros(dst(TensorRole::DownBias), {H}, dt, delta);
            }
        }
    }
    const std::string norm = tensorName(TensorRole::FinalNorm);
    copy(norm, norm);
    const std::string head = tensorName(TensorRole::LmHead);
    if (!c_.tieWordEmbeddings)
        copy(head, head);
    else if (untie_)
        copy(emb, head);

    // LoRA corrections of units that do not run under this mask do nothing in the model.
    for (const auto& [key, a] : lora_) {
        const std::string label = "lora." + std::to_string(a.layer) + "." + projectionName(a.projection);
        ojson rec = {{"layer", a.layer}, {"projection", projectionName(a.projection)}, {"rank", a.rank()}};
        if (!foldedInto_.count(label)) rec["status"] = "inactive: its sub-layer is removed";
        adapterRecords_[label] = rec;
    }
}

nlohmann::json Exporter::outputConfig() const {
    nlohmann::json j = c_.raw;
    const auto N = static_cast<int64_t>(sourceLayer_.size());
    j["num_hidden_layers"] = N;
    if (req_.dtype) {
        const char* name = dtypeConfigName(*req_.dtype);
        if (j.contains("torch_dtype")) j["torch_dtype"] = name;
        if (j.contains("dtype") || !j.contains("torch_dtype")) j["dtype"] = name;
    }
    if (untie_) j["tie_word_embeddings"] = false;
    // Bias flags: Llama's (and DeciLM's) attention_bias and mlp_bias, written when they changed.
    const bool nas = format_ == ExportFormat::NemotronNas;
    if (c_.architecture == Architecture::Llama || nas) {
        if (nas || j.contains("attention_bias") || outQkvBias_ != c_.qkvBias)
            j["attention_bias"] = outQkvBias_ || outOBias_;
        if (nas || j.contains("mlp_bias") || outMlpBias_ != c_.mlpBias) j["mlp_bias"] = outMlpBias_;
    }
    // Qwen2 says per layer which layers use the sliding window: keep that for the kept layers.
    if (c_.architecture == Architecture::Qwen2 &&
        ((j.contains("layer_types") && j["layer_types"].is_array()) ||
         j.value("use_sliding_window", false))) {
        nlohmann::json types = nlohmann::json::array();
        for (int64_t l : sourceLayer_)
            types.push_back(c_.slidingWindow[static_cast<size_t>(l)] > 0 ? "sliding_attention"
                                                                         : "full_attention");
        j["layer_types"] = types;
    }
    if (format_ != ExportFormat::NemotronNas) return j;

    j["architectures"] = {"DeciLMForCausalLM"};
    j["model_type"] = "nemotron-nas";
    j["auto_map"] = {{"AutoConfig", "configuration_decilm.DeciLMConfig"},
                     {"AutoModelForCausalLM", "modeling_decilm.DeciLMForCausalLM"}};
    j["o_proj_bias"] = outOBias_;
    j["intermediate_size"] = nullptr;
    j["num_key_value_heads"] = nullptr;
    for (const char* key : {"layer_types", "sliding_window", "use_sliding_window", "max_window_layers"})
        j.erase(key);
    // DeciLM's configuration reads the classic RoPE fields.
    if (!j.contains("rope_theta")) j["rope_theta"] = c_.rope.theta;
    if (!j.contains("rope_scaling")) {
        if (c_.rope.type == RopeType::Default)
            j["rope_scaling"] = nullptr;
        else {
            nlohmann::json s = {{"rope_type", ropeTypeName(c_.rope.type)}, {"factor", c_.rope.factor}};
            if (c_.rope.type == RopeType::Llama3) {
                s["low_freq_factor"] = c_.rope.lowFreqFactor;
                s["high_freq_factor"] = c_.rope.highFreqFactor;
                s["original_max_position_embeddings"] = c_.rope.originalMaxPositionEmbeddings;
            }
            j["rope_scaling"] = s;
        }
    }
    nlohmann::json blocks = nlohmann::json::array();
    for (int64_t l : sourceLayer_) {
        const auto li = static_cast<size_t>(l);
        const Slot a = attn_[li], f = ffn_[li];
        nlohmann::json attn = {{"no_op", a == Slot::Absent},  {"replace_with_linear", a == Slot::Linear},
                               {"n_heads_in_group", nullptr}, {"sparsify", nullptr},
                               {"num_sink_tokens", nullptr},  {"use_prefill_window_in_sink_attention", false},
                               {"unshifted_sink", false},     {"window_length", nullptr}};
        if (a == Slot::Full) attn["n_heads_in_group"] = c_.numHeads / c_.numKvHeads;
        nlohmann::json ffn = {{"no_op", f == Slot::Absent},
                              {"replace_with_linear", f == Slot::Linear},
                              {"ffn_mult", nullptr},
                              {"sparsify", nullptr}};
        if (f == Slot::Full) ffn["ffn_mult"] = ffnMult_;
        blocks.push_back({{"attention", attn}, {"ffn", ffn}});
    }
    j["block_configs"] = blocks;
    return j;
}

void Exporter::checkTarget() {
    const fs::path& out = req_.out;
    if (out.empty()) throw Error("no output folder given");
    std::error_code ec;
    const fs::path src = fs::weakly_canonical(source_, ec);
    const fs::path dst = fs::weakly_canonical(fs::absolute(out), ec);
    if (ec) throw Error(out, "cannot resolve the output folder: " + ec.message());
    if (isInside(dst, src))
        throw Error(out, "is inside the source folder " + src.string() +
                             "; an export never writes into its source. Choose a folder elsewhere");
    const bool exists = fs::exists(fs::symlink_status(out));
    if (exists && isInside(src, dst))
        throw Error(out, "contains the source checkpoint " + src.string() + "; it cannot be replaced");
    if (exists && !req_.force) throw Error(out, "already exists; pass --force to replace it");
    if (exists && !fs::is_directory(fs::symlink_status(out)))
        throw Error(out, "exists and is not a folder; LayerLab replaces only folders");
}

std::vector<std::string> Exporter::companionFiles() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(source_)) {
        const std::string name = e.path().filename().string();
        if (isCompanionFile(name) && fs::is_regular_file(e.path())) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

ojson Exporter::hashSource(const std::vector<std::string>& companions) {
    std::vector<fs::path> files = {source_ / "config.json"};
    if (fs::exists(source_ / "model.safetensors.index.json"))
        files.push_back(source_ / "model.safetensors.index.json");
    for (const auto& s : ckpt_.shards())
        files.push_back(s.path());
    for (const auto& n : companions)
        files.push_back(source_ / n);
    uint64_t total = 0, done = 0;
    for (const auto& f : files)
        total += fs::file_size(f);
    ojson list = ojson::array();
    for (const auto& f : files) {
        progress_.checkCancelled();
        ojson rec = {{"name", fs::relative(f, source_).string()}, {"bytes", fs::file_size(f)}};
        if (req_.hashSource) {
            const uint64_t before = done;
            rec["sha256"] = sha256File(f, [&](uint64_t n) {
                progress_.checkCancelled();
                progress_.report("hashing source files", static_cast<int64_t>((before + n) >> 20),
                                 static_cast<int64_t>(total >> 20), "MiB");
            });
        }
        done += fs::file_size(f);
        list.push_back(rec);
    }
    return list;
}

ojson Exporter::manifest(const ojson& sourceFiles) const {
    std::error_code ec;
    ojson m;
    m["layerlab_version"] = LAYERLAB_VERSION;
    m["created_utc"] = utcNow();
    m["format"] = exportFormatName(format_);
    m["source"] = {{"path", fs::weakly_canonical(source_, ec).string()},
                   {"architecture", architectureName(c_.architecture)},
                   {"num_layers", c_.numLayers},
                   {"files", sourceFiles}};
    m["removed"] = req_.mask.empty() ? "none" : req_.mask.toSpec();
    ojson units = ojson::array();
    for (const auto& u : req_.mask.removedUnits())
        units.push_back({{"unit", unitName(u.unit)}, {"layer", u.layer}});
    m["removed_units"] = units;
    ojson layers = ojson::array();
    for (size_t j = 0; j < sourceLayer_.size(); ++j) {
        const auto li = static_cast<size_t>(sourceLayer_[j]);
        layers.push_back({{"layer", j},
                          {"source_layer", sourceLayer_[j]},
                          {"attention", slotName(attn_[li])},
                          {"ffn", slotName(ffn_[li])}});
    }
    m["layers"] = layers;
    ojson adapters = adapterRecords_;
    for (auto& [label, rec] : adapters.items())
        if (foldedInto_.count(label)) {
            ojson into = ojson::array();
            for (const auto& n : foldedInto_.at(label))
                into.push_back(n == "(linear)"
                                   ? std::string("replace_with_linear ") + rec.value("unit", std::string()) +
                                         ":" + std::to_string(rec.value("layer", int64_t{0}))
                                   : n);
            rec["folded_into"] = into;
        }
    m["adapters"] = adapters;
    m["dtype"] = req_.dtype ? dtypeConfigName(*req_.dtype) : "as stored";
    m["shard_size"] = req_.shardBytes;
    m["notes"] = notes_;
    for (auto it = req_.manifest.begin(); it != req_.manifest.end(); ++it)
        m[it.key()] = it.value();
    return m;
}

ExportResult Exporter::run() {
    checkRequest();
    planSlots();
    foldConstants();
    planFlags();
    planFfnWidth();
    planTensors();
    if (req_.planOnly) {
        ExportResult preview;
        preview.out = req_.out;
        preview.format = format_;
        preview.numLayers = static_cast<int64_t>(sourceLayer_.size());
        preview.sourceLayer = sourceLayer_;
        for (const auto& t : tensors_)
            preview.tensorBytes += t.bytes();
        preview.notes = notes_;
        preview.manifest = manifest(ojson::array());
        return preview;
    }
    checkTarget();

    // Shards: consecutive tensors up to shardBytes each.
    std::vector<std::vector<size_t>> shards(1);
    uint64_t current = 0, tensorBytes = 0;
    for (size_t i = 0; i < tensors_.size(); ++i) {
        const uint64_t b = tensors_[i].bytes();
        if (!shards.back().empty() && current + b > req_.shardBytes) {
            shards.emplace_back();
            current = 0;
        }
        shards.back().push_back(i);
        current += b;
        tensorBytes += b;
    }
    const auto companions = companionFiles();
    uint64_t companionBytes = 0;
    for (const auto& n : companions)
        companionBytes += fs::file_size(source_ / n);

    fs::path out = fs::absolute(req_.out).lexically_normal();
    if (out.filename().empty()) out = out.parent_path(); // "dir/" names "dir"
    const fs::path parent = out.parent_path();
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) throw Error(parent, "cannot create the folder for the export: " + ec.message());
    const uint64_t needed = tensorBytes + companionBytes + (16u << 20);
    const uint64_t available = req_.freeSpace ? req_.freeSpace(parent) : fs::space(parent, ec).available;
    if (!ec && available < needed)
        throw Error(parent, "not enough free disk space for the export: it needs about " + gigabytes(needed) +
                                " but only " + gigabytes(available) + " are free");

    TempFolder tmp(parent / ("." + out.filename().string() + ".layerlab-export-" + randomFileSuffix()));
    fs::create_directory(tmp.path(), ec);
    if (ec) throw Error(parent, "cannot create a temporary folder for the export: " + ec.message());
    std::vector<std::string> written;
    auto wrote = [&](const std::string& name) {
        written.push_back(name);
        if (req_.afterFileWritten) req_.afterFileWritten(tmp.path() / name);
    };

    const auto sourceFiles = hashSource(companions);

    const size_t n = shards.size();
    auto shardName = [&](size_t s) {
        if (n == 1) return std::string("model.safetensors");
        char buf[64];
        std::snprintf(buf, sizeof buf, "model-%05zu-of-%05zu.safetensors", s + 1, n);
        return std::string(buf);
    };
    nlohmann::ordered_json weightMap = nlohmann::ordered_json::object();
    int64_t done = 0;
    for (size_t s = 0; s < n; ++s) {
        std::vector<std::pair<std::string, torch::Tensor>> batch;
        for (size_t i : shards[s]) {
            progress_.checkCancelled();
            auto& t = tensors_[i];
            torch::Tensor value = t.make();
            if (value.sizes().vec() != t.shape || value.scalar_type() != t.dtype)
                throw Error("internal error: tensor '" + t.name + "' came out with another shape or dtype");
            batch.emplace_back(t.name, std::move(value));
            weightMap[t.name] = shardName(s);
            progress_.report("writing tensors", ++done, static_cast<int64_t>(tensors_.size()), "tensors");
        }
        progress_.checkCancelled();
        writeSafetensors(tmp.path() / shardName(s), batch, {{"format", "pt"}});
        wrote(shardName(s));
    }
    if (n > 1) {
        nlohmann::ordered_json index = {{"metadata", {{"total_size", tensorBytes}}},
                                        {"weight_map", weightMap}};
        writeFileAtomically(tmp.path() / "model.safetensors.index.json", index.dump(2) + "\n");
        wrote("model.safetensors.index.json");
    }
    writeFileAtomically(tmp.path() / "config.json", outputConfig().dump(2) + "\n");
    wrote("config.json");
    for (const auto& name : companions) {
        progress_.checkCancelled();
        fs::copy_file(source_ / name, tmp.path() / name, ec);
        if (ec) throw Error(tmp.path() / name, "cannot copy from the source folder: " + ec.message());
        wrote(name);
    }

    ExportResult result;
    result.out = req_.out;
    result.format = format_;
    result.numLayers = static_cast<int64_t>(sourceLayer_.size());
    result.sourceLayer = sourceLayer_;
    result.tensorBytes = tensorBytes;
    result.notes = notes_;
    result.manifest = manifest(sourceFiles);
    result.manifest["files"] = written;
    writeFileAtomically(tmp.path() / "layerlab.json", result.manifest.dump(2) + "\n");
    wrote("layerlab.json");
    result.files = written;
    progress_.checkCancelled();

    // Into place: the old target (with --force) moves aside first and goes only once the new one
    // is there.
    fs::path old;
    if (fs::exists(fs::symlink_status(out))) {
        old = parent / ("." + out.filename().string() + ".layerlab-old-" + randomFileSuffix());
        fs::rename(out, old, ec);
        if (ec) throw Error(out, "cannot move the existing folder aside: " + ec.message());
    }
    fs::rename(tmp.path(), out, ec);
    if (ec) {
        if (!old.empty()) fs::rename(old, out);
        throw Error(out, "cannot move the finished export into place: " + ec.message());
    }
    tmp.keep();
    if (!old.empty() && !removeTree(old))
        result.notes.push_back("could not remove the replaced folder " + old.string());
    return result;
}

} // namespace

ExportResult exportCheckpoint(const fs::path& source, const ExportRequest& request,
                              const Progress& progress) {
    Exporter e(source, request, progress);
    return e.run();
}

ExportResult exportCheckpoint(const Model& model, const ExportRequest& request, const Progress& progress) {
    if (!request.adapters.empty()) return exportCheckpoint(model.dir(), request, progress);
    ExportRequest r = request;
    r.adapters = model.adapters();
    return exportCheckpoint(model.dir(), r, progress);
}

} // namespace layerlab
