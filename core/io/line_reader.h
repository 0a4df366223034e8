#pragma once
// Reads data files line by line with sanity limits checked before any large allocation, and
// with progress and cancellation between chunks. Shared by the data loaders.

#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace layerlab {

class Progress;

// Larger inputs are refused before reading: they are almost surely the wrong file, and would
// exhaust memory.
struct ReadLimits {
    uint64_t maxFileBytes = uint64_t{4} << 30;  // 4 GiB
    uint64_t maxLineBytes = uint64_t{64} << 20; // 64 MiB
};

// An error at one line of an input file: "file.jsonl:12: problem".
class LineError : public Error {
public:
    LineError(const std::filesystem::path& file, int64_t line, const std::string& problem)
        : Error(file.string() + ":" + std::to_string(line) + ": " + problem), path_(file), line_(line) {}
    const std::filesystem::path& path() const { return path_; }
    int64_t line() const { return line_; } // 1-based

private:
    std::filesystem::path path_;
    int64_t line_;
};

// Throws the LineError for one line: `fail("problem")`.
struct LineFailure {
    const std::filesystem::path& path;
    int64_t line;
    [[noreturn]] void operator()(const std::string& problem) const { throw LineError(path, line, problem); }
};

// A JSON parse error as said in a line's message: nlohmann's "[json.exception...] parse error at
// line 1, " dropped, as the column is what helps on one line.
std::string jsonProblem(const std::exception& e);

// Size of a regular file; Error when it is missing, not a file, or over limits.maxFileBytes.
uint64_t checkedDataFileSize(const std::filesystem::path& path, const ReadLimits& limits);

// Calls onLine(text, lineNumber) for each line (1-based; "\n" and a trailing "\r" removed; the
// last line may lack "\n"). A UTF-8 byte order mark at the start is dropped. Throws LineError
// for a line over limits.maxLineBytes, Cancelled when asked to stop. `stage` names the work in
// progress reports, which count bytes.
void forEachLine(const std::filesystem::path& path, const ReadLimits& limits, const Progress& progress,
                 std::string_view stage,
                 const std::function<void(std::string_view line, int64_t lineNumber)>& onLine);

// The whole file as one string (the byte order mark dropped), read in chunks under the same
// limits as forEachLine.
std::string readDataFile(const std::filesystem::path& path, const ReadLimits& limits,
                         const Progress& progress, std::string_view stage);

} // namespace layerlab
