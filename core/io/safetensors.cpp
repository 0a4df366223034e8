#include "io/safetensors.h"

#include "common/error.h"
#include "io/atomic_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <limits>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace layerlab {

namespace fs = std::filesystem;
using json = nlohmann::json;

class MappedFile {
public:
    MappedFile(const fs::path& path) {
        int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw Error(path, std::string("cannot open: ") + std::strerror(errno));
        struct stat st {};
        if (::fstat(fd, &st) != 0) {
            ::close(fd);
            throw Error(path, std::string("cannot stat: ") + std::strerror(errno));
        }
        size_ = static_cast<uint64_t>(st.st_size);
        if (size_ > 0) {
            // Private + writable: a stray in-place op on a weight changes our copy, never the file.
            void* p = ::mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
            if (p == MAP_FAILED) {
                ::close(fd);
                throw Error(path, std::string("cannot memory-map: ") + std::strerror(errno));
            }
            data_ = static_cast<char*>(p);
        }
        ::close(fd);
    }
    ~MappedFile() {
        if (data_) ::munmap(data_, size_);
    }
    MappedFile(const MappedFile&) = delete;
    MappedFile& operator=(const MappedFile&) = delete;
    char* data() const { return data_; }
    uint64_t size() const { return size_; }

private:
    char* data_ = nullptr;
    uint64_t size_ = 0;
};

namespace {

struct DTypeRow {
    StDType type;
    const char* name;
    int64_t size;
    torch::ScalarType torchType;
};
const DTypeRow kDTypes[] = {
    {StDType::F64, "F64", 8, torch::kFloat64}, {StDType::F32, "F32", 4, torch::kFloat32},
    {StDType::F16, "F16", 2, torch::kFloat16}, {StDType::BF16, "BF16", 2, torch::kBFloat16},
    {StDType::I64, "I64", 8, torch::kInt64},   {StDType::I32, "I32", 4, torch::kInt32},
    {StDType::I16, "I16", 2, torch::kInt16},   {StDType::I8, "I8", 1, torch::kInt8},
    {StDType::U8, "U8", 1, torch::kUInt8},     {StDType::BOOL, "BOOL", 1, torch::kBool},
};
const DTypeRow& row(StDType t) {
    for (const auto& r : kDTypes)
        if (r.type == t) return r;
    throw Error("internal: unknown safetensors dtype");
}

uint64_t readLe64(const char* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i)
        v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

} // namespace

const char* stDTypeName(StDType t) {
    return row(t).name;
}
int64_t stDTypeSize(StDType t) {
    return row(t).size;
}
torch::ScalarType toTorch(StDType t) {
    return row(t).torchType;
}

int64_t TensorInfo::numel() const {
    int64_t n = 1;
    for (auto d : shape)
        n *= d;
    return n;
}

std::vector<TensorInfo> parseSafetensorsHeader(const fs::path& path, const std::string& header,
                                               uint64_t dataBytes,
                                               std::map<std::string, std::string>* metadata) {
    json j;
    try {
        j = json::parse(header);
    } catch (const json::exception& e) {
        throw Error(path, std::string("the safetensors header is not valid JSON (") + e.what() + ")");
    }
    if (!j.is_object()) throw Error(path, "the safetensors header is not a JSON object");

    std::vector<TensorInfo> out;
    for (auto it = j.begin(); it != j.end(); ++it) {
        const std::string& name = it.key();
        const json& v = it.value();
        if (name == "__metadata__") {
            if (!v.is_object()) throw Error(path, "__metadata__ is not an object");
            for (auto m = v.begin(); m != v.end(); ++m) {
                if (!m.value().is_string())
                    throw Error(path, "__metadata__ entry '" + m.key() + "' is not a string");
                if (metadata) (*metadata)[m.key()] = m.value().get<std::string>();
            }
            continue;
        }
        const std::string where = "tensor '" + name + "'";
        if (!v.is_object()) throw Error(path, where + ": entry is not an object");
        if (!v.contains("dtype") || !v["dtype"].is_string()) throw Error(path, where + ": missing dtype");
        if (!v.contains("shape") || !v["shape"].is_array()) throw Error(path, where + ": missing shape");
        if (!v.contains("data_offsets") || !v["data_offsets"].is_array() || v["data_offsets"].size() != 2)
            throw Error(path, where + ": data_offsets must be [begin, end]");

        TensorInfo info;
        info.name = name;
        const auto dtype = v["dtype"].get<std::string>();
        bool known = false;
        for (const auto& r : kDTypes)
            if (dtype == r.name) {
                info.dtype = r.type;
                known = true;
            }
        if (!known) throw Error(path, where + ": unsupported dtype '" + dtype + "'");

        // Element count with overflow checks: a shape like [2^40, 2^40] must not wrap around.
        uint64_t count = 1;
        for (const auto& d : v["shape"]) {
            if (!d.is_number_unsigned() && !(d.is_number_integer() && d.get<int64_t>() >= 0))
                throw Error(path, where + ": shape entries must be non-negative integers");
            uint64_t dim = d.get<uint64_t>();
            if (dim > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
                (dim != 0 && count > std::numeric_limits<uint64_t>::max() / dim))
                throw Error(path, where + ": shape is too large (byte size overflows)");
            count *= dim;
            info.shape.push_back(static_cast<int64_t>(dim));
        }
        const uint64_t esize = static_cast<uint64_t>(stDTypeSize(info.dtype));
        if (count > std::numeric_limits<uint64_t>::max() / esize)
            throw Error(path, where + ": shape is too large (byte size overflows)");
        const uint64_t bytes = count * esize;

        for (const auto& o : v["data_offsets"])
            if (!o.is_number_unsigned() && !(o.is_number_integer() && o.get<int64_t>() >= 0))
                throw Error(path, where + ": data_offsets must be non-negative integers");
        info.begin = v["data_offsets"][0].get<uint64_t>();
        info.end = v["data_offsets"][1].get<uint64_t>();
        if (info.end < info.begin) throw Error(path, where + ": data_offsets end before they begin");
        if (info.end > dataBytes)
            throw Error(path, where + ": data_offsets [" + std::to_string(info.begin) + ", " +
                                  std::to_string(info.end) + "] lie outside the file (data section is " +
                                  std::to_string(dataBytes) + " bytes; is the file truncated?)");
        if (info.end - info.begin != bytes)
            throw Error(path, where + ": shape and dtype need " + std::to_string(bytes) +
                                  " bytes but data_offsets span " + std::to_string(info.end - info.begin));
        out.push_back(std::move(info));
    }

    std::vector<const TensorInfo*> sorted;
    for (const auto& t : out)
        sorted.push_back(&t);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
    for (size_t i = 1; i < sorted.size(); ++i)
        if (sorted[i]->begin < sorted[i - 1]->end)
            throw Error(path, "tensors '" + sorted[i - 1]->name + "' and '" + sorted[i]->name + "' overlap");
    return out;
}

std::vector<TensorInfo> parseSafetensorsBytes(const fs::path& path, std::string_view bytes,
                                              std::map<std::string, std::string>* metadata,
                                              uint64_t* dataOffset) {
    const uint64_t size = bytes.size();
    if (size < 8)
        throw Error(path, "file is too short to be safetensors (" + std::to_string(size) + " bytes)");
    const uint64_t headerLen = readLe64(bytes.data());
    if (headerLen > kMaxSafetensorsHeaderBytes)
        throw Error(path, "header length " + std::to_string(headerLen) + " exceeds the limit of " +
                              std::to_string(kMaxSafetensorsHeaderBytes) +
                              " bytes (not a safetensors file?)");
    if (headerLen > size - 8)
        throw Error(path, "header length " + std::to_string(headerLen) + " runs past the end of the file (" +
                              std::to_string(size) + " bytes; is the file truncated?)");
    const std::string header(bytes.data() + 8, headerLen);
    if (dataOffset) *dataOffset = 8 + headerLen;
    return parseSafetensorsHeader(path, header, size - 8 - headerLen, metadata);
}

SafetensorsFile SafetensorsFile::open(const fs::path& path) {
    SafetensorsFile f;
    f.path_ = path;
    if (!fs::exists(path)) throw Error(path, "file not found");
    f.map_ = std::make_shared<MappedFile>(path);
    f.tensors_ = parseSafetensorsBytes(path, std::string_view(f.map_->data(), f.map_->size()), &f.metadata_,
                                       &f.dataOffset_);
    for (size_t i = 0; i < f.tensors_.size(); ++i)
        f.byName_[f.tensors_[i].name] = i;
    return f;
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
    auto it = byName_.find(name);
    return it == byName_.end() ? nullptr : &tensors_[it->second];
}

uint64_t SafetensorsFile::dataBytes() const {
    return map_->size() - dataOffset_;
}

torch::Tensor SafetensorsFile::tensor(const std::string& name) const {
    const TensorInfo* info = find(name);
    if (!info) throw Error(path_, "no tensor named '" + name + "'");
    return tensor(*info);
}

torch::Tensor SafetensorsFile::tensor(const TensorInfo& info) const {
    auto opts = torch::TensorOptions().dtype(toTorch(info.dtype)).device(torch::kCPU);
    if (info.numel() == 0) return torch::empty(info.shape, opts);
    char* p = map_->data() + dataOffset_ + info.begin;
    auto keep = map_;
    if (reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(stDTypeSize(info.dtype)) != 0) {
        auto t = torch::empty(info.shape, opts);
        std::memcpy(t.data_ptr(), p, info.end - info.begin);
        return t;
    }
    return torch::from_blob(
        p, info.shape, [keep](void*) {}, opts);
}

void writeSafetensors(const fs::path& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    json header = json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    std::vector<torch::Tensor> cpu;
    uint64_t offset = 0;
    for (const auto& [name, t] : tensors) {
        auto c = t.detach().to(torch::kCPU).contiguous();
        const char* dtypeName = nullptr;
        for (const auto& r : kDTypes)
            if (r.torchType == c.scalar_type()) dtypeName = r.name;
        if (!dtypeName)
            throw Error(path, "cannot write tensor '" + name + "' of type " + std::string(c.dtype().name()));
        const uint64_t bytes = static_cast<uint64_t>(c.numel()) * c.element_size();
        header[name] = {
            {"dtype", dtypeName}, {"shape", c.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
        offset += bytes;
        cpu.push_back(std::move(c));
    }
    std::string h = header.dump();
    // Pad so the data section starts 8-byte aligned, as the reference implementation does.
    while ((8 + h.size()) % 8 != 0)
        h.push_back(' ');
    char len[8];
    uint64_t n = h.size();
    for (int i = 0; i < 8; ++i)
        len[i] = static_cast<char>((n >> (8 * i)) & 0xff);

    AtomicFileWriter w(path);
    w.write(len, 8);
    w.write(h);
    for (const auto& c : cpu)
        w.write(c.data_ptr(), static_cast<size_t>(c.numel()) * c.element_size());
    w.commit();
}

} // namespace layerlab
