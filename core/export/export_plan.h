#pragma once
// Internal to core/export. The plan of one export: what every source layer, sub-layer and adapter
// becomes and the list of tensors to write, all decided before anything is written, so that what
// the format cannot hold is refused early and planOnly can preview the manifest.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "export/checkpoint_export.h"
#include "export/format_writer.h"
#include "model/adapter.h"
#include "model/checkpoint.h"
#include "model/layer_mask.h"
#include "model/model_config.h"

namespace layerlab::export_detail {

using ojson = nlohmann::ordered_json;

// How a sub-layer appears in the export.
enum class Slot { Full, Zeroed, Linear, Absent };
const char* slotName(Slot s); // as in the manifest: "full", "zeroed", "replace_with_linear", "no_op"

const char* dtypeConfigName(torch::ScalarType t); // config.json's names: "float32", ...
std::string unitLabel(Unit u, int64_t layer);     // "attn:3"

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

// The steps run in this order (exportCheckpoint): checkRequest, planSlots, foldConstants,
// planFlags, planFfnWidth, planTensors. The tensors' make functions read through `this`, so a
// plan stays where it was built.
struct ExportPlan {
    ExportPlan(const std::filesystem::path& source, const ExportRequest& request);
    ~ExportPlan();
    ExportPlan(const ExportPlan&) = delete;
    ExportPlan& operator=(const ExportPlan&) = delete;

    void checkRequest();
    void planSlots();
    void foldConstants();
    void planFlags();
    void planFfnWidth();
    void planTensors(); // export_tensors.cpp

    const Adapter* unitAdapter(Unit u, int64_t l) const {
        auto it = unitAdapters.find({static_cast<int>(u), l});
        return it == unitAdapters.end() ? nullptr : &it->second;
    }
    // Slot 2 l is layer l's attention, 2 l + 1 its FFN.
    Slot& slot(int64_t s) {
        return s % 2 == 0 ? attn[static_cast<size_t>(s / 2)] : ffn[static_cast<size_t>(s / 2)];
    }
    torch::ScalarType outDtype(const std::string& sourceName) const {
        return req.dtype ? *req.dtype : ckpt.tensor(sourceName).scalar_type();
    }
    void addStandIn(const Adapter& a, int64_t slot, Unit removedUnit);

    std::filesystem::path source;
    const ExportRequest& req;
    Checkpoint ckpt;
    const ModelConfig& c;
    ExportFormat format = ExportFormat::HuggingFace;
    std::unique_ptr<FormatWriter> formatWriter; // set by checkRequest
    bool untie = false;

    std::map<std::pair<int, int64_t>, Adapter> unitAdapters; // (unit, layer)
    std::map<std::pair<int64_t, int>, LoraAdapter> lora;     // (layer, projection)
    std::vector<Slot> attn, ffn;                             // per source layer
    std::map<int64_t, torch::Tensor> attnLinear, ffnLinear;  // [H, H] float32 weights
    std::vector<int64_t> exportedIndex;                      // source layer -> exported, -1 dropped
    std::vector<int64_t> sourceLayer;                        // exported -> source layer
    struct Constant {
        int64_t slot; // the constant is added to the residual stream right after this slot
        torch::Tensor value;
        std::string what;
    };
    std::vector<Constant> constants;
    torch::Tensor embeddingDelta;
    std::map<int64_t, torch::Tensor> oBiasDelta, downBiasDelta;
    bool outQkvBias = false, outOBias = false, outMlpBias = false;
    int64_t ffnWidth = 0;
    double ffnMult = 0;
    std::vector<OutTensor> tensors;
    std::vector<std::string> notes;
    ojson adapterRecords = ojson::object();
    std::map<std::string, std::vector<std::string>> foldedInto; // adapter label -> tensor names
};

} // namespace layerlab::export_detail
