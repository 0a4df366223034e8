#include "data/dataset.h"

#include "common/error.h"
#include "io/json_file.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>

namespace layerlab {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

void checkWindowOptions(const WindowOptions& o) {
    if (o.seqLen < 0)
        throw Error("seq-len must be 0 (sequences as they are) or more, not " + std::to_string(o.seqLen));
    if (o.seqLen == 0 && o.stride != 0) throw Error("a stride needs a seq-len (windows of seq-len tokens)");
    if (o.stride < 0 || o.stride > o.seqLen)
        throw Error("stride must be between 1 and the seq-len (" + std::to_string(o.seqLen) + "), not " +
                    std::to_string(o.stride));
}

// The problem with one token id, or "" when it is fine. `where` places it for the message.
std::string badTokenId(int64_t id, int64_t vocabSize, const std::string& where) {
    if (id < 0) return "negative token id " + std::to_string(id) + where;
    if (vocabSize > 0 && id >= vocabSize)
        return "token id " + std::to_string(id) + where + " is not below the vocab size " +
               std::to_string(vocabSize);
    return {};
}

// Bytes and words of one document, counted as lm-evaluation-harness does for word perplexity and
// bits per byte: UTF-8 bytes, and the pieces of re.split(r"\s+", text) (so leading or trailing
// whitespace adds an empty piece).
void countText(std::string_view text, TextStatistics& stats) {
    stats.documents += 1;
    stats.bytes += static_cast<int64_t>(text.size());
    const auto space = [](char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
    };
    int64_t pieces = 1;
    for (size_t i = 0; i < text.size();) {
        if (space(text[i])) {
            ++pieces;
            while (i < text.size() && space(text[i]))
                ++i;
        } else {
            ++i;
        }
    }
    stats.words += pieces;
}

// With seqLen 0 a sequence is one window: refuse one longer than the model takes.
template <typename Fail>
void checkSequenceLength(int64_t tokens, const TokenDataOptions& options, const Fail& fail) {
    if (options.windows.seqLen == 0 && options.maxSeqLen > 0 && tokens > options.maxSeqLen)
        fail("a sequence of " + std::to_string(tokens) + " tokens exceeds the model's maximum of " +
             std::to_string(options.maxSeqLen) + " (give a seq-len to cut it into windows)");
}

// Ids of one .jsonl line: {"text": "..."} or {"input_ids": [...]}.
std::vector<int64_t> lineIds(std::string_view line, int64_t lineNumber, const fs::path& path,
                             const TextEncoder& encoder, const TokenDataOptions& options,
                             TextStatistics& stats) {
    const LineFailure fail{path, lineNumber};
    json j = parseJsonLine(line, fail, "\"text\" or \"input_ids\"");
    const auto text = j.find("text");
    const auto inputIds = j.find("input_ids");
    if (text != j.end() && inputIds != j.end()) fail("has both \"text\" and \"input_ids\"; give one of them");
    if (text == j.end() && inputIds == j.end()) fail("missing field \"text\" or \"input_ids\"");

    if (text != j.end()) {
        if (!text->is_string()) fail("\"text\" must be a string");
        std::vector<int64_t> ids = encoder(text->get_ref<const std::string&>(), options.addBos);
        if (!ids.empty()) {
            countText(text->get_ref<const std::string&>(), stats);
            stats.documentTokens += static_cast<int64_t>(ids.size());
        }
        for (int64_t id : ids)
            if (auto problem = badTokenId(id, options.vocabSize, " from the tokenizer"); !problem.empty())
                fail(problem);
        checkSequenceLength(static_cast<int64_t>(ids.size()), options, fail);
        return ids;
    }
    if (!inputIds->is_array()) fail("\"input_ids\" must be a list of token ids");
    checkSequenceLength(static_cast<int64_t>(inputIds->size()), options, fail);
    std::vector<int64_t> ids;
    ids.reserve(inputIds->size());
    for (const auto& value : *inputIds) {
        const std::string where = " at input_ids[" + std::to_string(ids.size()) + "]";
        // A bool or a float is not a token id, even where it would convert.
        if (!value.is_number_integer()) fail("not an integer" + where);
        if (value.is_number_unsigned() &&
            value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
            fail("token id too large" + where);
        const auto id = value.get<int64_t>();
        if (auto problem = badTokenId(id, options.vocabSize, where); !problem.empty()) fail(problem);
        ids.push_back(id);
    }
    return ids;
}

std::vector<TokenWindow> readText(const fs::path& path, const TextEncoder& encoder,
                                  const TokenDataOptions& options, const Progress& progress,
                                  TextStatistics& stats) {
    const std::string text =
        readDataFile(path, options.limits, progress, "reading " + path.filename().string());
    progress.report("tokenizing " + path.filename().string(), 0, 1);
    const std::vector<int64_t> ids = encoder(text, options.addBos);
    progress.checkCancelled();
    countText(text, stats);
    stats.documentTokens = static_cast<int64_t>(ids.size());
    for (size_t i = 0; i < ids.size(); ++i)
        if (auto problem = badTokenId(ids[i], options.vocabSize,
                                      " from the tokenizer (token " + std::to_string(i) + ")");
            !problem.empty())
            throw Error(path, problem);
    checkSequenceLength(static_cast<int64_t>(ids.size()), options,
                        [&path](const std::string& problem) { throw Error(path, "the text: " + problem); });
    auto windows = cutWindows(ids, options.windows);
    if (windows.empty()) {
        if (text.empty()) throw Error(path, "the file is empty");
        if (ids.size() < 2)
            throw Error(path, "the text has " + std::to_string(ids.size()) + " token(s): nothing to predict");
        throw Error(path, "the text has " + std::to_string(ids.size()) +
                              " tokens: not enough for one window of " +
                              std::to_string(options.windows.seqLen) +
                              " tokens (use a smaller seq-len, or keep the remainder)");
    }
    return windows;
}

std::vector<TokenWindow> readJsonl(const fs::path& path, const TextEncoder& encoder,
                                   const TokenDataOptions& options, const Progress& progress,
                                   TextStatistics& stats) {
    std::vector<TokenWindow> windows;
    const int64_t seqLen = options.windows.seqLen;
    forEachLine(path, options.limits, progress, "reading " + path.filename().string(),
                [&](std::string_view line, int64_t lineNumber) {
                    if (line.find_first_not_of(" \t") == std::string_view::npos) return;
                    std::vector<int64_t> ids = lineIds(line, lineNumber, path, encoder, options, stats);
                    if (ids.empty()) return;
                    if (seqLen == 0 || static_cast<int64_t>(ids.size()) <= seqLen) {
                        windows.push_back({std::move(ids), 0});
                        return;
                    }
                    for (auto& w : cutWindows(ids, options.windows))
                        windows.push_back(std::move(w));
                });
    if (windows.empty())
        throw Error(path, "no sequences (no line has \"text\" or \"input_ids\" with tokens)");
    return windows;
}

} // namespace

std::vector<TokenWindow> cutWindows(std::span<const int64_t> ids, const WindowOptions& options) {
    checkWindowOptions(options);
    std::vector<TokenWindow> windows;
    const auto n = static_cast<int64_t>(ids.size());
    auto add = [&](int64_t begin, int64_t end, int64_t context) {
        TokenWindow w{{ids.begin() + begin, ids.begin() + end}, context};
        if (w.scoredTargets() > 0) windows.push_back(std::move(w));
    };
    if (options.seqLen == 0) {
        add(0, n, 0);
        return windows;
    }
    const int64_t stride = options.stride == 0 ? options.seqLen : options.stride;
    int64_t scoredUpTo = 0; // end of the previous window: tokens before it are scored already
    for (int64_t begin = 0; begin < n; begin += stride) {
        const int64_t end = std::min(begin + options.seqLen, n);
        if (end - begin < options.seqLen && !options.keepRemainder) break;
        add(begin, end, scoredUpTo - begin);
        scoredUpTo = end;
        if (end == n) break;
    }
    return windows;
}

TokenData loadTokenData(const fs::path& path, const TextEncoder& encoder, const TokenDataOptions& options,
                        const Progress& progress) {
    checkWindowOptions(options.windows);
    if (options.maxSequences < 0) throw Error("max-sequences must be 0 (all) or more");
    if (options.maxSeqLen > 0 && options.windows.seqLen > options.maxSeqLen)
        throw Error(path, "seq-len " + std::to_string(options.windows.seqLen) +
                              " exceeds the model's maximum of " + std::to_string(options.maxSeqLen) +
                              " tokens");
    const std::string ext = path.extension().string();
    TokenData data;
    DataDescription& d = data.description;
    if (ext == ".txt") {
        d.format = "text";
        data.windows = readText(path, encoder, options, progress, d.text);
    } else if (ext == ".jsonl") {
        d.format = "jsonl";
        data.windows = readJsonl(path, encoder, options, progress, d.text);
    } else {
        throw Error(path, "unknown data format '" + ext + "' (expected a .txt or .jsonl file)");
    }

    d.file = path;
    d.available = static_cast<int64_t>(data.windows.size());
    if (options.maxSequences > 0 && options.maxSequences < d.available) {
        std::vector<TokenWindow> chosen;
        for (size_t i :
             sampleIndices(data.windows.size(), static_cast<size_t>(options.maxSequences), options.seed))
            chosen.push_back(std::move(data.windows[i]));
        data.windows = std::move(chosen);
        d.sampled = true;
    }
    d.sequences = static_cast<int64_t>(data.windows.size());
    for (const auto& w : data.windows) {
        d.tokens += w.size();
        d.scoredTokens += w.scoredTargets();
    }
    d.seqLen = options.windows.seqLen;
    d.stride = options.windows.stride == 0 ? options.windows.seqLen : options.windows.stride;
    d.keepRemainder = options.windows.keepRemainder;
    d.addBos = options.addBos;
    d.seed = options.seed;
    progress.report("loaded " + path.filename().string(), d.sequences, d.sequences, "sequences");
    return data;
}

std::vector<size_t> sampleIndices(size_t available, size_t count, uint64_t seed) {
    std::vector<size_t> indices(available);
    std::iota(indices.begin(), indices.end(), size_t{0});
    if (count >= available) return indices;
    // mt19937_64's output is fixed by the standard, unlike std::uniform_int_distribution's, so
    // the same seed picks the same subset with every standard library.
    std::mt19937_64 engine(seed);
    auto below = [&engine](uint64_t bound) {
        const uint64_t rejectUnder = (0 - bound) % bound; // 2^64 mod bound: keeps the draw unbiased
        for (;;)
            if (const uint64_t r = engine(); r >= rejectUnder) return r % bound;
    };
    // Partial Fisher-Yates: the first `count` places end up a uniform sample.
    for (size_t i = 0; i < count; ++i)
        std::swap(indices[i], indices[i + below(available - i)]);
    indices.resize(count);
    std::sort(indices.begin(), indices.end());
    return indices;
}

json toJson(const DataDescription& d) {
    json j = {{"file", d.file.string()}, {"format", d.format}, {"available", d.available}};
    if (d.format == "multiple-choice") {
        j["task"] = d.task;
        j["items"] = d.items;
    } else {
        j["sequences"] = d.sequences;
        j["tokens"] = d.tokens;
        j["scored_tokens"] = d.scoredTokens;
        j["seq_len"] = d.seqLen;
        j["stride"] = d.stride;
        j["keep_remainder"] = d.keepRemainder;
        j["add_bos"] = d.addBos;
        if (d.text.documents > 0) {
            j["documents"] = d.text.documents;
            j["bytes"] = d.text.bytes;
            j["words"] = d.text.words;
        }
    }
    j["sampled"] = d.sampled;
    j["seed"] = d.seed;
    return j;
}

double TextStatistics::scoredFraction(int64_t scoredTokens) const {
    const int64_t targets = documentTokens - documents; // a document's first token has no context
    if (targets <= 0) return 0;
    return std::min(1.0, static_cast<double>(scoredTokens) / static_cast<double>(targets));
}

} // namespace layerlab
