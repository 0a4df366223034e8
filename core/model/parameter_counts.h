#pragma once
// How many parameters a model has, by part. Plain numbers without LibTorch, so that what is
// derived from them (pruning costs, summaries) can be kept and tested without a model in memory.

#include <cstdint>
#include <vector>

namespace layerlab {

struct ParameterCounts {
    int64_t total = 0;
    int64_t embedding = 0;
    int64_t lmHead = 0; // 0 when tied to the embedding
    int64_t finalNorm = 0;
    std::vector<int64_t> attention; // per layer, input norm included
    std::vector<int64_t> ffn;       // per layer, post-attention norm included
    int64_t block(int64_t layer) const { return attention.at(layer) + ffn.at(layer); }
};

} // namespace layerlab
