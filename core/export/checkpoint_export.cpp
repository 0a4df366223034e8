#include "export/checkpoint_export.h"

#include "common/error.h"
#include "export/export_files.h"
#include "export/export_manifest.h"
#include "export/export_plan.h"
#include "model/model.h"

#include <cctype>
#include <cmath>
#include <map>

// The pieces: export_plan.cpp decides what every layer and adapter becomes, export_tensors.cpp
// lists the tensors, the *_writer.cpp files hold what differs between the formats,
// export_manifest.cpp writes layerlab.json and export_files.cpp puts it all on disk.

namespace layerlab {

namespace fs = std::filesystem;

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

const char* loadsName(Loads l) {
    switch (l) {
    case Loads::Yes:
        return "yes";
    case Loads::No:
        return "no";
    case Loads::Unchecked:
        break;
    }
    return "unchecked";
}

std::string describeRuntime(const RuntimeSupport& r) {
    return r.runtime + ": " + loadsName(r.loads) + (r.detail.empty() ? "" : ", " + r.detail);
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

ExportResult exportCheckpoint(const fs::path& source, const ExportRequest& request,
                              const Progress& progress) {
    export_detail::ExportPlan plan(source, request);
    plan.checkRequest();
    plan.planSlots();
    plan.foldConstants();
    plan.planFlags();
    plan.planFfnWidth();
    plan.planTensors();
    if (request.planOnly) {
        ExportResult preview;
        preview.out = plan.req.out;
        preview.format = plan.format;
        preview.numLayers = static_cast<int64_t>(plan.sourceLayer.size());
        preview.sourceLayer = plan.sourceLayer;
        for (const auto& t : plan.tensors)
            preview.tensorBytes += t.bytes();
        preview.notes = plan.notes;
        preview.runtimes = plan.formatWriter->runtimes(plan);
        preview.manifest = export_detail::exportManifest(plan, nlohmann::ordered_json::array());
        return preview;
    }
    return export_detail::writeExport(plan, progress);
}

ExportResult exportCheckpoint(const Model& model, const ExportRequest& request, const Progress& progress) {
    if (!request.adapters.empty()) return exportCheckpoint(model.dir(), request, progress);
    ExportRequest r = request;
    r.adapters = model.adapters();
    return exportCheckpoint(model.dir(), r, progress);
}

} // namespace layerlab
