#pragma once
// Which blocks, attention sub-layers and FFN sub-layers are switched off. A removed unit adds
// nothing to the residual stream; removing a block removes both of its sub-layers.

#include <cstdint>
#include <string>
#include <vector>

namespace layerlab {

enum class Unit { Block, Attention, Ffn };
const char* unitName(Unit u); // "block", "attn", "ffn"

struct UnitRef {
    Unit unit;
    int64_t layer; // 0-based index in the original model
    bool operator==(const UnitRef&) const = default;
};

class LayerMask {
public:
    LayerMask() = default;
    explicit LayerMask(int64_t numLayers);

    // Parses "block:3,attn:5-7,ffn:2" (0-based, ranges inclusive); "" or "none" removes nothing.
    // Throws Error on a malformed spec or an index out of range.
    static LayerMask parse(const std::string& spec, int64_t numLayers);

    int64_t numLayers() const { return static_cast<int64_t>(block_.size()); }
    void set(Unit unit, int64_t layer, bool removed);
    void remove(Unit unit, int64_t layer) { set(unit, layer, true); }
    void restore(Unit unit, int64_t layer) { set(unit, layer, false); }
    // As toggled (a removed block does not mark its sub-layers)
    bool isRemoved(Unit unit, int64_t layer) const;

    // What the forward pass runs.
    bool attentionOn(int64_t layer) const { return !block_.at(layer) && !attn_.at(layer); }
    bool ffnOn(int64_t layer) const { return !block_.at(layer) && !ffn_.at(layer); }
    bool layerActive(int64_t layer) const { return attentionOn(layer) || ffnOn(layer); }

    bool empty() const;
    std::vector<UnitRef> removedUnits() const;
    std::string toSpec() const; // canonical form, ranges collapsed; "" when empty
    bool operator==(const LayerMask&) const = default;

private:
    std::vector<bool> block_, attn_, ffn_;
};

} // namespace layerlab
