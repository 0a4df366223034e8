#pragma once
// Writes a file so that readers only ever see the old or the complete new content: the data goes
// to a temporary file in the same folder, is flushed to disk, then renamed over the target.

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

namespace layerlab {

class AtomicFileWriter {
public:
    explicit AtomicFileWriter(const std::filesystem::path& target);
    ~AtomicFileWriter(); // removes the temporary file unless commit() succeeded
    AtomicFileWriter(const AtomicFileWriter&) = delete;
    AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

    void write(const void* data, size_t bytes);
    void write(std::string_view text) { write(text.data(), text.size()); }
    // fsync, close, rename into place. Throws Error naming the target on failure.
    void commit();

    const std::filesystem::path& temporaryPath() const { return tmp_; }

private:
    std::filesystem::path target_;
    std::filesystem::path tmp_;
    int fd_ = -1;
    bool committed_ = false;
};

// Eight random hex digits for temporary names beside a target (files, export folders).
std::string randomFileSuffix();

// Convenience for small text files (JSON reports, manifests).
void writeFileAtomically(const std::filesystem::path& target, std::string_view content);

} // namespace layerlab
