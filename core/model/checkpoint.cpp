#include "model/checkpoint.h"

#include "common/error.h"
#include "io/json_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace layerlab {

namespace fs = std::filesystem;
using json = nlohmann::json;

fs::path resolveInside(const fs::path& dir, const std::string& name, const fs::path& source) {
    const fs::path rel(name);
    if (name.empty() || rel.is_absolute() || rel.has_root_name())
        throw Error(source, "file name '" + name + "' is not a plain relative name");
    for (const auto& part : rel)
        if (part == "..") throw Error(source, "file name '" + name + "' escapes the model folder");
    std::error_code ec;
    const fs::path base = fs::weakly_canonical(dir, ec);
    const fs::path full = fs::weakly_canonical(dir / rel, ec);
    if (ec) throw Error(source, "cannot resolve '" + name + "': " + ec.message());
    auto b = base.begin();
    auto f = full.begin();
    for (; b != base.end(); ++b, ++f)
        if (f == full.end() || *f != *b)
            throw Error(source, "file name '" + name + "' points outside the model folder");
    return full;
}

Checkpoint Checkpoint::open(const fs::path& dirIn) {
    Checkpoint c;
    c.dir_ = dirIn;
    if (!fs::is_directory(dirIn)) throw Error(dirIn, "not a folder (expected a Hugging Face model folder)");
    c.config_ = ModelConfig::load(dirIn / "config.json");

    std::vector<std::string> shardNames;
    const fs::path index = dirIn / "model.safetensors.index.json";
    if (fs::exists(index)) {
        json j = readJsonFile(index, 64u << 20);
        if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
            throw Error(index, "missing 'weight_map' object");
        std::map<std::string, std::string> wanted;
        for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
            if (!it.value().is_string())
                throw Error(index, "weight_map entry '" + it.key() + "' is not a file name");
            const std::string file = it.value();
            resolveInside(dirIn, file, index);
            wanted[it.key()] = file;
            if (std::find(shardNames.begin(), shardNames.end(), file) == shardNames.end())
                shardNames.push_back(file);
        }
        for (size_t s = 0; s < shardNames.size(); ++s)
            c.shards_.push_back(SafetensorsFile::open(resolveInside(dirIn, shardNames[s], index)));
        for (const auto& [name, file] : wanted) {
            size_t s = static_cast<size_t>(std::find(shardNames.begin(), shardNames.end(), file) -
                                           shardNames.begin());
            if (!c.shards_[s].find(name))
                throw Error(c.shards_[s].path(),
                            "index lists tensor '" + name + "' in this shard but it is not there");
            c.where_[name] = s;
        }
    } else if (fs::exists(dirIn / "model.safetensors")) {
        c.shards_.push_back(SafetensorsFile::open(dirIn / "model.safetensors"));
        for (const auto& t : c.shards_[0].tensors())
            c.where_[t.name] = 0;
    } else if (fs::exists(dirIn / "pytorch_model.bin") ||
               fs::exists(dirIn / "pytorch_model.bin.index.json")) {
        throw Error(
            dirIn,
            "only pickle-based pytorch_model.bin weights were found. LayerLab never loads pickle files "
            "(they can run code). Convert once with Python: "
            "AutoModelForCausalLM.from_pretrained(dir).save_pretrained(out, safe_serialization=True)");
    } else {
        throw Error(dirIn, "no model.safetensors or model.safetensors.index.json in the folder");
    }
    return c;
}

const TensorInfo& Checkpoint::info(const std::string& name) const {
    const auto* t = shardOf(name).find(name);
    return *t;
}

const SafetensorsFile& Checkpoint::shardOf(const std::string& name) const {
    auto it = where_.find(name);
    if (it == where_.end()) throw Error(dir_, "missing tensor '" + name + "'");
    return shards_[it->second];
}

torch::Tensor Checkpoint::tensor(const std::string& name) const {
    return shardOf(name).tensor(name);
}

std::vector<std::string> Checkpoint::tensorNames() const {
    std::vector<std::string> v;
    for (const auto& [n, s] : where_)
        v.push_back(n);
    return v;
}

uint64_t Checkpoint::totalBytes() const {
    uint64_t n = 0;
    for (const auto& s : shards_)
        n += s.dataBytes();
    return n;
}

} // namespace layerlab
