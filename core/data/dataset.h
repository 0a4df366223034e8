#pragma once
// Token sequences for calibration, perplexity and recovery, read from a plain .txt file or a
// .jsonl file (a "text" or an "input_ids" field per line), cut into windows of seqLen tokens.
//
// Windows follow the strided (sliding-window) perplexity scheme: consecutive windows start
// `stride` tokens apart and overlap by seqLen - stride tokens; the overlap is context only, so
// every token of the input is scored at most once. With stride == seqLen windows are disjoint.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/progress.h"
#include "io/line_reader.h"
#include "tokenizer/tokenizer.h"

namespace layerlab {

// Turns text into token ids; addBos asks for the beginning-of-sequence token (the tokenizer's
// special tokens). Lets the loaders run without a real tokenizer.
using TextEncoder = std::function<std::vector<int64_t>(std::string_view text, bool addBos)>;

// One sequence fed to the model. The first contextTokens ids are there only as context: their
// predictions are not scored. Position 0 has nothing before it, so it is never a target either.
struct TokenWindow {
    std::vector<int64_t> ids;
    int64_t contextTokens = 0;

    int64_t size() const { return static_cast<int64_t>(ids.size()); }
    // First position whose token is scored (predicted from the ids before it).
    int64_t firstTarget() const { return contextTokens > 1 ? contextTokens : 1; }
    // Number of scored positions: ids[firstTarget()] .. ids[size() - 1].
    int64_t scoredTargets() const { return size() > firstTarget() ? size() - firstTarget() : 0; }
    bool operator==(const TokenWindow&) const = default;
};

struct WindowOptions {
    int64_t seqLen = 2048;      // tokens per window; 0: the whole input as one window
    int64_t stride = 0;         // start-to-start distance, 1..seqLen; 0: seqLen (disjoint windows)
    bool keepRemainder = false; // keep the last, shorter window instead of dropping its tokens
};

// Cuts one token stream into windows. Window k starts at k * stride and holds up to seqLen ids;
// its leading ids that the previous window already scored are context. Cutting stops at the
// first window that reaches the end of the input. A final window shorter than seqLen is kept
// only with keepRemainder, and a window with nothing to score (a lone token) is never kept.
// Throws Error for an invalid seqLen or stride.
std::vector<TokenWindow> cutWindows(std::span<const int64_t> ids, const WindowOptions& options);

struct TokenDataOptions {
    WindowOptions windows;
    bool addBos = true;       // for text: prepend the BOS token (per line in .jsonl)
    int64_t maxSequences = 0; // 0: all windows; else a seeded sample of at most this many
    uint64_t seed = 0;        // picks the sample; the same seed gives the same windows
    int64_t vocabSize = 0;    // > 0: ids must be below it
    // > 0: the longest sequence the model takes (max_position_embeddings). A longer seqLen is an
    // Error before the file is read; with seqLen 0, so is a sequence (the text, or a .jsonl line)
    // longer than this.
    int64_t maxSeqLen = 0;
    ReadLimits limits;
};

// The text behind the tokens (text documents only; token-id lines have none), for word
// perplexity and bits per byte.
struct TextStatistics {
    int64_t documents = 0;      // the .txt file, or each .jsonl "text" line
    int64_t documentTokens = 0; // their token ids before windowing and sampling (BOS included)
    int64_t bytes = 0;          // UTF-8 bytes of the documents
    int64_t words = 0;          // as lm-evaluation-harness counts them: len(re.split(r"\s+", doc))
    // Share of the documents' predictable tokens (all but each document's first) that a
    // selection with `scoredTokens` targets covers: 1 when every token is scored.
    double scoredFraction(int64_t scoredTokens) const;
};

// What was loaded, for reports and logs.
struct DataDescription {
    std::filesystem::path file;
    std::string format;    // "text", "jsonl" or "multiple-choice"
    std::string task;      // multiple-choice: the task name
    int64_t available = 0; // sequences (or items) in the file before the limit
    int64_t sequences = 0; // sequences kept
    int64_t tokens = 0;    // ids in the kept sequences, context included
    int64_t scoredTokens = 0;
    int64_t items = 0; // multiple-choice items kept
    int64_t seqLen = 0;
    int64_t stride = 0;
    bool keepRemainder = false;
    bool addBos = false;
    bool sampled = false; // true when a limit chose a subset
    uint64_t seed = 0;
    TextStatistics text;
};
nlohmann::json toJson(const DataDescription& description);

struct TokenData {
    std::vector<TokenWindow> windows; // in file order
    DataDescription description;
};

// Reads a .txt file (the whole text encoded as one string, then cut into windows) or a .jsonl
// file (one sequence per line: {"text": "..."} encoded on its own, or {"input_ids": [...]};
// blank lines skipped; a sequence longer than seqLen is cut into windows like a text, a shorter
// one is kept whole; empty sequences are skipped). The format follows the file extension.
// Throws Error (LineError for a bad .jsonl line) for bad input or when nothing is left, and
// Cancelled when progress asks to stop.
TokenData loadTokenData(const std::filesystem::path& path, const TextEncoder& encoder,
                        const TokenDataOptions& options, const Progress& progress = {});

inline TokenData loadTokenData(const std::filesystem::path& path, const Tokenizer& tokenizer,
                               const TokenDataOptions& options, const Progress& progress = {}) {
    return loadTokenData(
        path, [&tokenizer](std::string_view text, bool addBos) { return tokenizer.encode(text, addBos); },
        options, progress);
}

// Indices of a seeded sample of `count` out of `available` items, ascending. All of them when
// count >= available. The same (available, count, seed) gives the same sample on every platform.
std::vector<size_t> sampleIndices(size_t available, size_t count, uint64_t seed);

} // namespace layerlab
