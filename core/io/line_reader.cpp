#include "io/line_reader.h"

#include "common/progress.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <vector>

namespace layerlab {

namespace fs = std::filesystem;

namespace {

constexpr size_t kChunkBytes = size_t{1} << 20;
constexpr uint64_t kReportEveryBytes = uint64_t{8} << 20;
constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

std::string mib(uint64_t bytes) {
    // Limits are whole MiB in practice; show bytes when they are not (small limits in tests).
    return bytes % (1 << 20) == 0 ? std::to_string(bytes >> 20) + " MiB" : std::to_string(bytes) + " bytes";
}

// Reads a file in fixed chunks, reporting bytes and checking for cancellation between chunks.
class ChunkReader {
public:
    ChunkReader(const fs::path& path, const ReadLimits& limits, const Progress& progress,
                std::string_view stage)
        : path_(path), total_(checkedDataFileSize(path, limits)), progress_(progress), stage_(stage),
          // A small file needs no 1 MiB buffer (zeroing it cost more than reading the file).
          in_(path, std::ios::binary), buffer_(std::min<uint64_t>(kChunkBytes, total_ + 1)) {
        if (!in_) throw Error(path, "cannot open");
        progress_.report(stage_, 0, static_cast<int64_t>(total_), "bytes");
    }

    // The next chunk; empty at the end of the file.
    std::string_view next() {
        progress_.checkCancelled();
        in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
        const auto got = static_cast<size_t>(in_.gcount());
        if (got == 0 && in_.bad()) throw Error(path_, "read failed");
        std::string_view chunk(buffer_.data(), got);
        if (done_ == 0 && chunk.starts_with(kUtf8Bom)) chunk.remove_prefix(kUtf8Bom.size());
        done_ += got;
        if (done_ - reported_ >= kReportEveryBytes || (got == 0 && reported_ != done_)) {
            reported_ = done_;
            progress_.report(stage_, static_cast<int64_t>(done_), static_cast<int64_t>(total_), "bytes");
        }
        return chunk;
    }
    uint64_t size() const { return total_; }

private:
    fs::path path_;
    uint64_t total_;
    const Progress& progress_;
    std::string stage_;
    std::ifstream in_;
    std::vector<char> buffer_;
    uint64_t done_ = 0, reported_ = 0;
};

[[noreturn]] void lineTooLong(const fs::path& path, int64_t line, const ReadLimits& limits) {
    throw LineError(path, line,
                    "line is longer than " + mib(limits.maxLineBytes) + "; is this the right file?");
}

} // namespace

std::string jsonProblem(const std::exception& e) {
    const std::string m = e.what();
    if (const auto column = m.find("column "); column != std::string::npos) return m.substr(column);
    if (const auto bracket = m.find("] "); bracket != std::string::npos) return m.substr(bracket + 2);
    return m;
}

uint64_t checkedDataFileSize(const fs::path& path, const ReadLimits& limits) {
    std::error_code ec;
    const auto status = fs::status(path, ec);
    if (ec || !fs::exists(status)) throw Error(path, "no such file");
    if (!fs::is_regular_file(status)) throw Error(path, "not a regular file");
    const uint64_t size = fs::file_size(path, ec);
    if (ec) throw Error(path, "cannot read the file size: " + ec.message());
    if (size > limits.maxFileBytes)
        throw Error(path, "file is larger than " + mib(limits.maxFileBytes) + " (" +
                              std::to_string(size >> 20) + " MiB); is this the right file?");
    return size;
}

void forEachLine(const fs::path& path, const ReadLimits& limits, const Progress& progress,
                 std::string_view stage, const std::function<void(std::string_view, int64_t)>& onLine) {
    ChunkReader reader(path, limits, progress, stage);
    std::string pending; // the start of a line that runs past the current chunk
    int64_t lineNumber = 1;
    auto emit = [&](std::string_view line) {
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (line.size() > limits.maxLineBytes) lineTooLong(path, lineNumber, limits);
        onLine(line, lineNumber);
        ++lineNumber;
    };
    for (std::string_view chunk = reader.next(); !chunk.empty(); chunk = reader.next()) {
        while (!chunk.empty()) {
            const size_t newline = chunk.find('\n');
            const std::string_view piece = chunk.substr(0, newline);
            // Checked before appending, so an overlong line never grows past the limit plus a chunk.
            if (pending.size() + piece.size() > limits.maxLineBytes + 1)
                lineTooLong(path, lineNumber, limits);
            if (newline == std::string_view::npos) {
                pending.append(piece);
                break;
            }
            if (pending.empty()) {
                emit(piece);
            } else {
                pending.append(piece);
                emit(pending);
                pending.clear();
            }
            chunk.remove_prefix(newline + 1);
            if (lineNumber % 4096 == 0) progress.checkCancelled();
        }
    }
    if (!pending.empty()) emit(pending);
}

std::string readDataFile(const fs::path& path, const ReadLimits& limits, const Progress& progress,
                         std::string_view stage) {
    ChunkReader reader(path, limits, progress, stage);
    std::string text;
    text.reserve(static_cast<size_t>(reader.size()));
    uint64_t lineBytes = 0; // length of the current line so far
    int64_t lineNumber = 1;
    for (std::string_view chunk = reader.next(); !chunk.empty(); chunk = reader.next()) {
        text.append(chunk);
        for (size_t at = 0;;) {
            const size_t newline = chunk.find('\n', at);
            const size_t end = newline == std::string_view::npos ? chunk.size() : newline;
            lineBytes += end - at;
            if (lineBytes > limits.maxLineBytes) lineTooLong(path, lineNumber, limits);
            if (newline == std::string_view::npos) break;
            lineBytes = 0;
            ++lineNumber;
            at = newline + 1;
        }
    }
    return text;
}

} // namespace layerlab
