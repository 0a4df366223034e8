// seeds: tests/data/reference/*/*.safetensors tests/data/reference/*/model.safetensors.index.json

// The safetensors reader (8-byte length, JSON header, offsets) and model.safetensors.index.json.
// An input starting with '{' is an index, opened as Checkpoint::open does against the shards of
// tests/data/reference/llama_sharded; anything else is a whole .safetensors file.

#include "fuzz_target.h"

#include "io/safetensors.h"
#include "model/checkpoint.h"

namespace {

namespace fs = std::filesystem;

// A model folder holding the sharded reference checkpoint's config.json and shards.
const fs::path& shardedModel() {
    static const fs::path dir = [] {
        const fs::path d = layerlab::fuzz::tmpDir() / "model";
        fs::create_directories(d);
        const fs::path src = fs::path(LAYERLAB_SOURCE_DIR) / "tests/data/reference/llama_sharded";
        for (const auto& e : fs::directory_iterator(src)) {
            const std::string name = e.path().filename().string();
            if (name == "config.json" || name.rfind("model-", 0) == 0)
                fs::copy_file(e.path(), d / name, fs::copy_options::overwrite_existing);
        }
        return d;
    }();
    return dir;
}

} // namespace

LAYERLAB_FUZZ_TARGET(safetensors) {
    using namespace layerlab;
    if (!input.empty() && input.front() == '{') {
        const fs::path dir = shardedModel();
        fuzz::writeTmpFile("model/model.safetensors.index.json", input);
        const Checkpoint c = Checkpoint::open(dir);
        for (const auto& name : c.tensorNames())
            (void)c.info(name);
        (void)c.totalBytes();
        return;
    }
    // The header alone, against a data section as large as it needs (seeds are cut short).
    if (input.size() >= 8) {
        uint64_t len = 0;
        for (int i = 7; i >= 0; --i)
            len = (len << 8) | static_cast<unsigned char>(input[i]);
        if (len <= input.size() - 8) {
            try {
                std::map<std::string, std::string> metadata;
                (void)parseSafetensorsHeader("fuzz.safetensors", std::string(input.substr(8, len)),
                                             uint64_t{1} << 40, &metadata);
            } catch (const Error&) {
            }
        }
    }
    // The whole file from memory, then (when it is valid) through the real reader.
    std::map<std::string, std::string> metadata;
    uint64_t dataOffset = 0;
    (void)parseSafetensorsBytes("fuzz.safetensors", input, &metadata, &dataOffset);
    const SafetensorsFile f = SafetensorsFile::open(fuzz::writeTmpFile("fuzz.safetensors", input));
    for (const auto& t : f.tensors())
        (void)f.tensor(t).clone();
}
