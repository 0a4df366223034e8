#pragma once
// What a click on a unit does to the removal set. The click flips what the forward pass runs
// (LayerMask::attentionOn / ffnOn), not a raw flag, so a click always has a visible effect; a
// layer whose two sub-layers are both off is kept as "block removed" (one canonical spelling).

#include <cstdint>

#include "model/layer_mask.h"

namespace layerlab::ui {

// Block: removes the block, or restores it with both sub-layers on.
// Attention / FFN: switches that sub-layer off or on; the other keeps its state.
void toggleUnit(LayerMask& mask, Unit unit, int64_t layer);

// Whether the forward pass runs the unit (a block counts as running while either sub-layer does).
bool unitRuns(const LayerMask& mask, Unit unit, int64_t layer);

} // namespace layerlab::ui
