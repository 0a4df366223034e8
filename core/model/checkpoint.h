#pragma once
// A Hugging Face checkpoint folder: config.json plus model.safetensors or shards listed in
// model.safetensors.index.json. Every shard is validated when the folder is opened.

#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "model/model_config.h"

namespace layerlab {

class Checkpoint {
public:
    // Throws Error naming the file and the problem (missing config, pickle-only checkpoint,
    // shard name escaping the folder, damaged shard, ...).
    static Checkpoint open(const std::filesystem::path& dir);

    const std::filesystem::path& dir() const { return dir_; }
    const ModelConfig& config() const { return config_; }
    const std::vector<SafetensorsFile>& shards() const { return shards_; }

    bool has(const std::string& name) const { return where_.count(name) != 0; }
    const TensorInfo& info(const std::string& name) const;
    const SafetensorsFile& shardOf(const std::string& name) const;
    // CPU view of the tensor as stored. Throws Error naming the checkpoint if it is missing.
    torch::Tensor tensor(const std::string& name) const;
    std::vector<std::string> tensorNames() const;
    uint64_t totalBytes() const;

private:
    std::filesystem::path dir_;
    ModelConfig config_;
    std::vector<SafetensorsFile> shards_;
    std::map<std::string, size_t> where_; // tensor name -> shard index
};

// Resolves `name` inside `dir` and refuses anything that would leave it (absolute paths, "..",
// symlinks pointing outside). Throws Error naming `source`.
std::filesystem::path resolveInside(const std::filesystem::path& dir, const std::string& name,
                                    const std::filesystem::path& source);

} // namespace layerlab
