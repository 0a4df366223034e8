#include "export/export_manifest.h"

#include "common/utc_time.h"
#include "io/sha256.h"

namespace layerlab::export_detail {

namespace fs = std::filesystem;

ojson sourceFileRecords(const ExportPlan& plan, const std::vector<std::string>& companions,
                        const Progress& progress) {
    std::vector<fs::path> files = {plan.source / "config.json"};
    if (fs::exists(plan.source / "model.safetensors.index.json"))
        files.push_back(plan.source / "model.safetensors.index.json");
    for (const auto& s : plan.ckpt.shards())
        files.push_back(s.path());
    for (const auto& n : companions)
        files.push_back(plan.source / n);
    uint64_t total = 0, done = 0;
    for (const auto& f : files)
        total += fs::file_size(f);
    ojson list = ojson::array();
    for (const auto& f : files) {
        progress.checkCancelled();
        ojson rec = {{"name", fs::relative(f, plan.source).string()}, {"bytes", fs::file_size(f)}};
        if (plan.req.hashSource) {
            const uint64_t before = done;
            rec["sha256"] = sha256File(f, [&](uint64_t n) {
                progress.checkCancelled();
                progress.report("hashing source files", static_cast<int64_t>((before + n) >> 20),
                                static_cast<int64_t>(total >> 20), "MiB");
            });
        }
        done += fs::file_size(f);
        list.push_back(rec);
    }
    return list;
}

ojson exportManifest(const ExportPlan& plan, const ojson& sourceFiles) {
    std::error_code ec;
    ojson m;
    m["layerlab_version"] = LAYERLAB_VERSION;
    m["created_utc"] = utcNow();
    m["format"] = exportFormatName(plan.format);
    m["source"] = {{"path", fs::weakly_canonical(plan.source, ec).string()},
                   {"architecture", architectureName(plan.c.architecture)},
                   {"num_layers", plan.c.numLayers},
                   {"files", sourceFiles}};
    m["removed"] = plan.req.mask.empty() ? "none" : plan.req.mask.toSpec();
    ojson units = ojson::array();
    for (const auto& u : plan.req.mask.removedUnits())
        units.push_back({{"unit", unitName(u.unit)}, {"layer", u.layer}});
    m["removed_units"] = units;
    ojson layers = ojson::array();
    for (size_t j = 0; j < plan.sourceLayer.size(); ++j) {
        const auto li = static_cast<size_t>(plan.sourceLayer[j]);
        layers.push_back({{"layer", j},
                          {"source_layer", plan.sourceLayer[j]},
                          {"attention", slotName(plan.attn[li])},
                          {"ffn", slotName(plan.ffn[li])}});
    }
    m["layers"] = layers;
    ojson adapters = plan.adapterRecords;
    for (auto& [label, rec] : adapters.items())
        if (plan.foldedInto.count(label)) {
            ojson into = ojson::array();
            for (const auto& n : plan.foldedInto.at(label))
                into.push_back(n == "(linear)"
                                   ? std::string("replace_with_linear ") + rec.value("unit", std::string()) +
                                         ":" + std::to_string(rec.value("layer", int64_t{0}))
                                   : n);
            rec["folded_into"] = into;
        }
    m["adapters"] = adapters;
    m["dtype"] = plan.req.dtype ? dtypeConfigName(*plan.req.dtype) : "as stored";
    m["shard_size"] = plan.req.shardBytes;
    m["notes"] = plan.notes;
    ojson runtimes = ojson::array();
    for (const auto& r : plan.formatWriter->runtimes(plan))
        runtimes.push_back({{"runtime", r.runtime}, {"loads", loadsName(r.loads)}, {"detail", r.detail}});
    m["runtimes"] = runtimes;
    for (auto it = plan.req.manifest.begin(); it != plan.req.manifest.end(); ++it)
        m[it.key()] = it.value();
    return m;
}

} // namespace layerlab::export_detail
