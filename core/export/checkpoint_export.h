#pragma once
// Export of a pruned checkpoint that other tools load, with adapters folded into the weights and a
// provenance manifest (layerlab.json) next to them.
//
// Formats:
//  - HuggingFace: the same architecture with the removed blocks dropped and the remaining layers
//    renumbered (only whole blocks can be removed).
//  - NemotronNas: NVIDIA's DeciLM layout (`block_configs`): a removed attention or FFN sub-layer
//    becomes `no_op`, a low-rank stand-in becomes `replace_with_linear` (its [H, H] map), a layer
//    with nothing left is dropped; a sliding window becomes the layer's `window_length`. The
//    export carries its own configuration_decilm.py / modeling_decilm.py (core/export/decilm/),
//    so transformers loads it with trust_remote_code=True.
//  - Zeroed: the architecture unchanged, the removed sub-layers' output projections zeroed.
// Adapters: LoRA corrections are added to their projection's weight (W + (down up)^T, float32);
// a bias stand-in is added to the output bias of the last sub-layer that writes to the residual
// stream before it (o_proj or down_proj, turning the architecture's bias flag on with zero biases
// elsewhere), or to every embedding row when nothing writes before it. Whatever the format cannot
// hold exactly is refused with an Error saying so, never dropped.
//
// Safety: the source folder is only read (its tensors are never written through); the export is
// written to a temporary folder beside the target and renamed into place when complete, so a
// failure or cancellation leaves no partial target.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "common/progress.h"
#include "model/adapter.h"
#include "model/layer_mask.h"

namespace layerlab {

class Model;

enum class ExportFormat { Auto, HuggingFace, NemotronNas, Zeroed };
const char* exportFormatName(ExportFormat f); // "auto", "hf", "nemotron-nas", "zeroed"
// Parses those names; throws Error for anything else.
ExportFormat parseExportFormat(const std::string& name);
// What Auto means for a mask: HuggingFace when only whole blocks are removed, NemotronNas otherwise.
ExportFormat defaultExportFormat(const LayerMask& mask);

// "5GB", "500MB", "64KiB", "1000" (bytes). Decimal units are powers of 1000 as in Hugging Face's
// max_shard_size. Throws Error on anything else.
uint64_t parseByteSize(const std::string& text);

struct ExportRequest {
    std::filesystem::path out; // the folder to create
    LayerMask mask;            // removed units (of the source's layers)
    AdapterSet adapters;       // stand-ins and LoRA corrections to fold in (any device/dtype)
    ExportFormat format = ExportFormat::Auto;
    std::optional<torch::ScalarType> dtype; // f32/bf16/f16; none: every tensor keeps its stored dtype
    uint64_t shardBytes = 5'000'000'000;    // largest shard (a single tensor may exceed it)
    bool force = false;                     // replace an existing target
    bool hashSource = true;                 // SHA-256 of the source files in the manifest
    bool planOnly = false; // check and plan, write nothing: the result's manifest is a preview
    nlohmann::ordered_json manifest = nlohmann::ordered_json::object(); // extra fields for layerlab.json

    // Injection points for tests: free bytes where the target goes (default: the filesystem's),
    // and a call after each file is written into the temporary folder (may throw to simulate a
    // failed write).
    std::function<uint64_t(const std::filesystem::path&)> freeSpace;
    std::function<void(const std::filesystem::path&)> afterFileWritten;
};

// Whether a runtime loads an export as it is written, and how or why not. Decided by each writer
// from that runtime's loader code (cited there); tools/check_export.py loads the transformers
// cases for real.
enum class Loads { Yes, No, Unchecked };
const char* loadsName(Loads l); // "yes", "no", "unchecked"
struct RuntimeSupport {
    std::string runtime; // "transformers", "vLLM", "mlx-lm", "llama.cpp"
    Loads loads = Loads::Unchecked;
    std::string detail; // how it loads, or why not
};
// "vLLM: no, layer 0's attention is removed"
std::string describeRuntime(const RuntimeSupport& r);

struct ExportResult {
    std::filesystem::path out;
    ExportFormat format = ExportFormat::HuggingFace;
    int64_t numLayers = 0;            // layers in the exported checkpoint
    std::vector<int64_t> sourceLayer; // exported layer -> source layer
    std::vector<std::string> files;   // written, relative to out (manifest included)
    uint64_t tensorBytes = 0;
    std::vector<std::string> notes;       // what was changed beyond the removal (untied embeddings, ...)
    std::vector<RuntimeSupport> runtimes; // known before anything is written (also with planOnly)
    nlohmann::ordered_json manifest;
};

// Exports the checkpoint in `source` (a Hugging Face folder as Checkpoint::open reads it). Reads
// the tensors as stored, so the model's compute dtype does not matter. Reports progress per
// tensor and checks for cancellation between tensors and files. Throws Error (naming the file and
// the problem) for bad requests and failed writes, Cancelled when cancelled.
ExportResult exportCheckpoint(const std::filesystem::path& source, const ExportRequest& request,
                              const Progress& progress = {});
// The same for a loaded model: its folder, with request.adapters replaced by the model's adapters
// when the request has none.
ExportResult exportCheckpoint(const Model& model, const ExportRequest& request,
                              const Progress& progress = {});

} // namespace layerlab
