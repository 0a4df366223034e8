#include "export/pruning_plan.h"

#include "common/error.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace layerlab {

std::vector<int64_t> removalOrder(const std::vector<double>& scores) {
    std::vector<int64_t> order(scores.size());
    std::iota(order.begin(), order.end(), int64_t{0});
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        const double x = scores[static_cast<size_t>(a)], y = scores[static_cast<size_t>(b)];
        if (std::isnan(x) || std::isnan(y)) return !std::isnan(x) && std::isnan(y);
        return x < y;
    });
    return order;
}

LayerMask removeLeastImportant(const LayerMask& base, Unit unit, const std::vector<double>& scores,
                               int64_t k) {
    if (static_cast<int64_t>(scores.size()) != base.numLayers())
        throw Error("the scores have " + std::to_string(scores.size()) + " layers, the model " +
                    std::to_string(base.numLayers()));
    if (k < 0) throw Error("cannot remove a negative number of units");
    LayerMask mask = base;
    int64_t removed = 0;
    for (int64_t l : removalOrder(scores)) {
        if (removed == k) break;
        const bool gone = unit == Unit::Attention ? !mask.attentionOn(l)
                          : unit == Unit::Ffn     ? !mask.ffnOn(l)
                                                  : !mask.layerActive(l);
        if (gone) continue;
        mask.remove(unit, l);
        ++removed;
    }
    if (removed < k)
        throw Error("asked to remove " + std::to_string(k) + " " + unitName(unit) + " units but only " +
                    std::to_string(removed) + " are left");
    return mask;
}

LayerMask removeConsecutiveBlocks(int64_t numLayers, int64_t start, int64_t n) {
    if (n < 0 || start < 0 || start + n > numLayers)
        throw Error("blocks " + std::to_string(start) + " to " + std::to_string(start + n - 1) +
                    " are not all in the model's " + std::to_string(numLayers) + " layers");
    LayerMask mask(numLayers);
    for (int64_t l = start; l < start + n; ++l)
        mask.remove(Unit::Block, l);
    return mask;
}

} // namespace layerlab
