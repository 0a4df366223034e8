#include "export/export_files.h"

#include "common/error.h"
#include "export/export_manifest.h"
#include "io/atomic_file.h"
#include "io/file_tree.h"
#include "io/safetensors.h"

#include <algorithm>

namespace layerlab::export_detail {

namespace fs = std::filesystem;

namespace {

std::string gigabytes(uint64_t bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f GB", static_cast<double>(bytes) / 1e9);
    return buf;
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

void checkTarget(const ExportPlan& plan) {
    const fs::path& out = plan.req.out;
    if (out.empty()) throw Error("no output folder given");
    std::error_code ec;
    const fs::path src = fs::weakly_canonical(plan.source, ec);
    const fs::path dst = fs::weakly_canonical(fs::absolute(out), ec);
    if (ec) throw Error(out, "cannot resolve the output folder: " + ec.message());
    if (isInside(dst, src))
        throw Error(out, "is inside the source folder " + src.string() +
                             "; an export never writes into its source. Choose a folder elsewhere");
    const bool exists = fs::exists(fs::symlink_status(out));
    if (exists && isInside(src, dst))
        throw Error(out, "contains the source checkpoint " + src.string() + "; it cannot be replaced");
    if (exists && !plan.req.force) throw Error(out, "already exists; pass --force to replace it");
    if (exists && !fs::is_directory(fs::symlink_status(out)))
        throw Error(out, "exists and is not a folder; LayerLab replaces only folders");
}

std::vector<std::string> companionFiles(const ExportPlan& plan) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(plan.source)) {
        const std::string name = e.path().filename().string();
        if (isCompanionFile(name) && fs::is_regular_file(e.path())) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

} // namespace

ExportResult writeExport(const ExportPlan& plan, const Progress& progress) {
    checkTarget(plan);

    // Shards: consecutive tensors up to shardBytes each.
    std::vector<std::vector<size_t>> shards(1);
    uint64_t current = 0, tensorBytes = 0;
    for (size_t i = 0; i < plan.tensors.size(); ++i) {
        const uint64_t b = plan.tensors[i].bytes();
        if (!shards.back().empty() && current + b > plan.req.shardBytes) {
            shards.emplace_back();
            current = 0;
        }
        shards.back().push_back(i);
        current += b;
        tensorBytes += b;
    }
    const auto companions = companionFiles(plan);
    uint64_t companionBytes = 0;
    for (const auto& n : companions)
        companionBytes += fs::file_size(plan.source / n);

    fs::path out = fs::absolute(plan.req.out).lexically_normal();
    if (out.filename().empty()) out = out.parent_path(); // "dir/" names "dir"
    const fs::path parent = out.parent_path();
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) throw Error(parent, "cannot create the folder for the export: " + ec.message());
    const uint64_t needed = tensorBytes + companionBytes + (16u << 20);
    const uint64_t available =
        plan.req.freeSpace ? plan.req.freeSpace(parent) : fs::space(parent, ec).available;
    if (!ec && available < needed)
        throw Error(parent, "not enough free disk space for the export: it needs about " + gigabytes(needed) +
                                " but only " + gigabytes(available) + " are free");

    TempFolder tmp(parent / ("." + out.filename().string() + ".layerlab-export-" + randomFileSuffix()));
    fs::create_directory(tmp.path(), ec);
    if (ec) throw Error(parent, "cannot create a temporary folder for the export: " + ec.message());
    std::vector<std::string> written;
    auto wrote = [&](const std::string& name) {
        written.push_back(name);
        if (plan.req.afterFileWritten) plan.req.afterFileWritten(tmp.path() / name);
    };

    const auto sourceFiles = sourceFileRecords(plan, companions, progress);

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
            progress.checkCancelled();
            auto& t = plan.tensors[i];
            torch::Tensor value = t.make();
            if (value.sizes().vec() != t.shape || value.scalar_type() != t.dtype)
                throw Error("internal error: tensor '" + t.name + "' came out with another shape or dtype");
            batch.emplace_back(t.name, std::move(value));
            weightMap[t.name] = shardName(s);
            progress.report("writing tensors", ++done, static_cast<int64_t>(plan.tensors.size()), "tensors");
        }
        progress.checkCancelled();
        writeSafetensors(tmp.path() / shardName(s), batch, {{"format", "pt"}});
        wrote(shardName(s));
    }
    if (n > 1) {
        nlohmann::ordered_json index = {{"metadata", {{"total_size", tensorBytes}}},
                                        {"weight_map", weightMap}};
        writeFileAtomically(tmp.path() / "model.safetensors.index.json", index.dump(2) + "\n");
        wrote("model.safetensors.index.json");
    }
    writeFileAtomically(tmp.path() / "config.json", plan.formatWriter->config(plan).dump(2) + "\n");
    wrote("config.json");
    for (const auto& [name, text] : plan.formatWriter->codeFiles()) {
        writeFileAtomically(tmp.path() / name, text);
        wrote(name);
    }
    for (const auto& name : companions) {
        progress.checkCancelled();
        fs::copy_file(plan.source / name, tmp.path() / name, ec);
        if (ec) throw Error(tmp.path() / name, "cannot copy from the source folder: " + ec.message());
        wrote(name);
    }

    ExportResult result;
    result.out = plan.req.out;
    result.format = plan.format;
    result.numLayers = static_cast<int64_t>(plan.sourceLayer.size());
    result.sourceLayer = plan.sourceLayer;
    result.tensorBytes = tensorBytes;
    result.notes = plan.notes;
    result.runtimes = plan.formatWriter->runtimes(plan);
    result.manifest = exportManifest(plan, sourceFiles);
    result.manifest["files"] = written;
    writeFileAtomically(tmp.path() / "layerlab.json", result.manifest.dump(2) + "\n");
    wrote("layerlab.json");
    result.files = written;
    progress.checkCancelled();

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

} // namespace layerlab::export_detail
