#include "workspace/unit_toggle.h"

namespace layerlab::ui {

bool unitRuns(const LayerMask& mask, Unit unit, int64_t layer) {
    switch (unit) {
    case Unit::Block:
        return mask.layerActive(layer);
    case Unit::Attention:
        return mask.attentionOn(layer);
    case Unit::Ffn:
        return mask.ffnOn(layer);
    }
    return true;
}

void toggleUnit(LayerMask& mask, Unit unit, int64_t layer) {
    if (unit == Unit::Block) {
        const bool removeIt = mask.layerActive(layer);
        mask.set(Unit::Block, layer, removeIt);
        mask.set(Unit::Attention, layer, false);
        mask.set(Unit::Ffn, layer, false);
        return;
    }
    const Unit other = unit == Unit::Attention ? Unit::Ffn : Unit::Attention;
    bool on = unitRuns(mask, unit, layer);
    bool otherOn = unitRuns(mask, other, layer);
    on = !on;
    mask.set(Unit::Block, layer, !on && !otherOn);
    mask.set(unit, layer, !on && otherOn);
    mask.set(other, layer, !otherOn && on);
}

} // namespace layerlab::ui
