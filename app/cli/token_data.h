#pragma once
// Turns the --data file of a command into token sequences. (Pre-tokenized .jsonl for now;
// text arrives with the tokenizer.)

#include <cstdint>
#include <filesystem>
#include <vector>

#include "progress.h"

namespace layerlab::cli {

struct TokenDataOptions {
    int64_t seqLen = 0;       // cut sequences to at most this many tokens; 0 keeps them whole
    int64_t maxSequences = 0; // 0 = all
    uint64_t seed = 0;
};

struct TokenData {
    std::vector<std::vector<int64_t>> sequences;
};

TokenData loadTokenData(const std::filesystem::path& file, const TokenDataOptions& options, int64_t vocabSize,
                        const Progress& progress);

} // namespace layerlab::cli
