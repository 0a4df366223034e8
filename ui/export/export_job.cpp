#include "export/export_job.h"

#include "export/checkpoint_export.h"
#include "model/device.h"
#include "model/model.h"

namespace layerlab::ui {

namespace {

ExportRequest requestFor(const Model& model, const LayerMask& mask, const ExportSettings& s) {
    ExportRequest r;
    r.out = s.out.toStdString();
    r.mask = mask;
    r.adapters = model.adapters();
    r.format = parseExportFormat(s.format.toStdString());
    if (s.dtype != QLatin1String("keep")) r.dtype = parseDtype(s.dtype.toStdString());
    r.shardBytes = parseByteSize(s.shardSize.toStdString());
    r.force = s.force;
    r.manifest["exported_from"] = "layerlab workbench";
    return r;
}

} // namespace

std::string exportManifestPreview(const Model& model, const LayerMask& mask, const ExportSettings& settings) {
    auto r = requestFor(model, mask, settings);
    r.planOnly = true;
    r.hashSource = false;
    const auto result = exportCheckpoint(model, r);
    auto m = result.manifest;
    m["source"]["files"] = "(SHA-256 of every source file, computed when exporting)";
    std::string text = "Loads in:\n";
    for (const auto& rt : result.runtimes)
        text += "  " + describeRuntime(rt) + "\n";
    return text + "\nlayerlab.json:\n" + m.dump(2);
}

ExportOutcome runExport(const Model& model, const LayerMask& mask, const ExportSettings& settings,
                        const Progress& progress) {
    const auto result = exportCheckpoint(model, requestFor(model, mask, settings), progress);
    ExportOutcome o;
    o.out = result.out.string();
    o.format = exportFormatName(result.format);
    o.layers = result.numLayers;
    o.files = static_cast<int64_t>(result.files.size());
    o.bytes = result.tensorBytes;
    for (const auto& n : result.notes)
        o.notes += n + "\n";
    return o;
}

} // namespace layerlab::ui
