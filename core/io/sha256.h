#pragma once
// SHA-256 (FIPS 180-4), for the provenance manifest of exported checkpoints: which exact source
// files an export was made from.

#include <array>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace layerlab {

class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t bytes);
    void update(std::string_view text) { update(text.data(), text.size()); }
    // Lower-case hex digest; the object is spent afterwards.
    std::string hexDigest();

private:
    void block(const uint8_t* p);
    std::array<uint32_t, 8> state_;
    std::array<uint8_t, 64> buffer_{};
    size_t buffered_ = 0;
    uint64_t length_ = 0;
};

// Hex SHA-256 of a file, read in chunks; onChunk(bytesSoFar) is called after each chunk (progress,
// cancellation: it may throw). Throws Error naming the file when it cannot be read.
std::string sha256File(const std::filesystem::path& path, const std::function<void(uint64_t)>& onChunk = {});

} // namespace layerlab
