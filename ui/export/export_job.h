#pragma once
// Exporting the pruned model from the workbench: the core's exportCheckpoint for the open model,
// its removal set and its adapters, on the worker; the settings come from the export dialog.

#include <QString>

#include <cstdint>
#include <string>

#include "common/progress.h"
#include "model/layer_mask.h"

namespace layerlab {
class Model;
}

namespace layerlab::ui {

struct ExportSettings {
    QString out;               // the folder to create
    QString format = "auto";   // auto, hf, nemotron-nas, zeroed
    QString dtype = "keep";    // keep, f32, bf16, f16
    QString shardSize = "5GB"; // as layerlab-cli --shard-size
    bool force = false;
};

struct ExportOutcome {
    std::string out, format;
    int64_t layers = 0, files = 0;
    uint64_t bytes = 0;
    std::string notes; // what changed beyond the removal, one per line
};

// For the dialog's preview: which runtimes will load the export, then what it would write as
// layerlab.json (without the source hashes, which take a pass over the files). Throws Error for settings the
// core refuses to parse.
std::string exportManifestPreview(const Model& model, const LayerMask& mask, const ExportSettings& settings);

// Throws Error (refused format, existing target, no space, failed write), Cancelled.
ExportOutcome runExport(const Model& model, const LayerMask& mask, const ExportSettings& settings,
                        const Progress& progress);

} // namespace layerlab::ui
