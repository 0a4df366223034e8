#include "data/token_batch.h"

#include "common/error.h"

#include <algorithm>

namespace layerlab {

namespace {

template <typename Length> int64_t commonLength(size_t count, Length length) {
    if (count == 0) throw Error("a batch needs at least one sequence");
    const int64_t t = length(0);
    for (size_t b = 1; b < count; ++b)
        if (length(b) != t)
            throw Error("sequences in a batch must have the same length (sequence 0 has " +
                        std::to_string(t) + " tokens, sequence " + std::to_string(b) + " has " +
                        std::to_string(length(b)) + ")");
    return t;
}

} // namespace

torch::Tensor batchTensor(std::span<const TokenWindow> windows) {
    const int64_t t = commonLength(windows.size(), [&](size_t b) { return windows[b].size(); });
    auto out = torch::empty({static_cast<int64_t>(windows.size()), t}, torch::kInt64);
    int64_t* dst = out.data_ptr<int64_t>();
    for (const auto& w : windows)
        dst = std::copy(w.ids.begin(), w.ids.end(), dst);
    return out;
}

torch::Tensor batchTensor(const std::vector<std::vector<int64_t>>& sequences) {
    const int64_t t =
        commonLength(sequences.size(), [&](size_t b) { return static_cast<int64_t>(sequences[b].size()); });
    auto out = torch::empty({static_cast<int64_t>(sequences.size()), t}, torch::kInt64);
    int64_t* dst = out.data_ptr<int64_t>();
    for (const auto& s : sequences)
        dst = std::copy(s.begin(), s.end(), dst);
    return out;
}

torch::Tensor targetMask(std::span<const TokenWindow> windows) {
    const int64_t t = commonLength(windows.size(), [&](size_t b) { return windows[b].size(); });
    auto out = torch::zeros({static_cast<int64_t>(windows.size()), t}, torch::kBool);
    for (size_t b = 0; b < windows.size(); ++b)
        if (windows[b].scoredTargets() > 0)
            out[static_cast<int64_t>(b)].slice(0, windows[b].firstTarget()).fill_(true);
    return out;
}

} // namespace layerlab
