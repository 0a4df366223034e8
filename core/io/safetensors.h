#pragma once
// Reader and writer for the safetensors format (8-byte little-endian header length, a JSON header,
// then the raw tensor bytes). The reader memory-maps the file and validates every header field
// before any tensor is touched, so a damaged or hostile file gives an Error, never a crash.

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace layerlab {

enum class StDType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

const char* stDTypeName(StDType t);
int64_t stDTypeSize(StDType t);
torch::ScalarType toTorch(StDType t);

struct TensorInfo {
    std::string name;
    StDType dtype = StDType::F32;
    std::vector<int64_t> shape;
    uint64_t begin = 0; // byte offsets relative to the start of the data section
    uint64_t end = 0;
    int64_t numel() const;
};

// Largest header we accept before parsing; real headers are a few hundred KiB.
constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;

class MappedFile;

class SafetensorsFile {
public:
    // Maps and validates the file. Throws Error naming the file and the problem.
    static SafetensorsFile open(const std::filesystem::path& path);

    const std::filesystem::path& path() const { return path_; }
    const std::vector<TensorInfo>& tensors() const { return tensors_; }
    const std::map<std::string, std::string>& metadata() const { return metadata_; }
    const TensorInfo* find(const std::string& name) const;
    // Bytes of all tensor data (the file size less the header).
    uint64_t dataBytes() const;

    // A CPU tensor over the mapped bytes (copy-on-write private mapping: writing to it never
    // touches the file). Stays valid after this object is gone. Unaligned data is copied.
    torch::Tensor tensor(const std::string& name) const;
    torch::Tensor tensor(const TensorInfo& info) const;

private:
    std::filesystem::path path_;
    std::shared_ptr<MappedFile> map_;
    uint64_t dataOffset_ = 0;
    std::vector<TensorInfo> tensors_;
    std::map<std::string, size_t> byName_;
    std::map<std::string, std::string> metadata_;
};

// Parses and validates a header given as raw bytes (the whole file or its first part): exposed
// for tests and fuzzing. dataBytes is the size of the data section that follows the header.
std::vector<TensorInfo> parseSafetensorsHeader(const std::filesystem::path& path, const std::string& header,
                                               uint64_t dataBytes,
                                               std::map<std::string, std::string>* metadata);

// Validates a whole safetensors file held in memory (the 8-byte header length, then the header
// against the size of the data section): what open() does to the mapped file, exposed for tests
// and fuzzing. Sets *dataOffset (when given) to where the data section starts.
std::vector<TensorInfo> parseSafetensorsBytes(const std::filesystem::path& path, std::string_view bytes,
                                              std::map<std::string, std::string>* metadata,
                                              uint64_t* dataOffset = nullptr);

// Writes tensors (any device, F32/F16/BF16/integer dtypes) to a temporary file beside `path`,
// syncs it and renames it into place, so a failure never leaves a half-written file.
void writeSafetensors(const std::filesystem::path& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

} // namespace layerlab
