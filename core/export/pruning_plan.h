#pragma once
// Turning importance scores into a removal set: the k least important units of a granularity,
// or a run of consecutive blocks.

#include <cstdint>
#include <vector>

#include "model/layer_mask.h"

namespace layerlab {

// Layers ordered from least to most important (lowest score first: every metric scores higher =
// more important). Equal scores keep layer order; NaN scores come last.
std::vector<int64_t> removalOrder(const std::vector<double>& scores);

// `base` plus the k least important units of `unit` by `scores` (one per layer) that `base`
// has not removed yet. Throws Error if k is negative or more than there are units left.
LayerMask removeLeastImportant(const LayerMask& base, Unit unit, const std::vector<double>& scores,
                               int64_t k);

// Blocks start .. start+n-1 removed (the angular distance plan). Throws Error when out of range.
LayerMask removeConsecutiveBlocks(int64_t numLayers, int64_t start, int64_t n);

} // namespace layerlab
