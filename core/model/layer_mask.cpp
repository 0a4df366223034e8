#include "model/layer_mask.h"

#include "common/error.h"

#include <charconv>
#include <sstream>

namespace layerlab {

const char* unitName(Unit u) {
    switch (u) {
    case Unit::Block:
        return "block";
    case Unit::Attention:
        return "attn";
    case Unit::Ffn:
        return "ffn";
    }
    return "?";
}

LayerMask::LayerMask(int64_t n)
    : block_(static_cast<size_t>(n), false), attn_(static_cast<size_t>(n), false),
      ffn_(static_cast<size_t>(n), false) {}

void LayerMask::set(Unit unit, int64_t layer, bool removed) {
    if (layer < 0 || layer >= numLayers())
        throw Error("layer " + std::to_string(layer) + " is out of range (the model has " +
                    std::to_string(numLayers()) + " layers, numbered 0 to " +
                    std::to_string(numLayers() - 1) + ")");
    auto& v = unit == Unit::Block ? block_ : unit == Unit::Attention ? attn_ : ffn_;
    v[static_cast<size_t>(layer)] = removed;
}

bool LayerMask::isRemoved(Unit unit, int64_t layer) const {
    const auto& v = unit == Unit::Block ? block_ : unit == Unit::Attention ? attn_ : ffn_;
    return v.at(static_cast<size_t>(layer));
}

bool LayerMask::empty() const {
    return removedUnits().empty();
}

std::vector<UnitRef> LayerMask::removedUnits() const {
    std::vector<UnitRef> out;
    for (Unit u : {Unit::Block, Unit::Attention, Unit::Ffn})
        for (int64_t l = 0; l < numLayers(); ++l)
            if (isRemoved(u, l)) out.push_back({u, l});
    return out;
}

namespace {
int64_t parseIndex(const std::string& s, const std::string& spec) {
    int64_t v = -1;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0)
        throw Error("bad layer index '" + s + "' in removal spec '" + spec +
                    "' (expected e.g. block:3,attn:5-7,ffn:2)");
    return v;
}
std::string trim(const std::string& s) {
    size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}
} // namespace

LayerMask LayerMask::parse(const std::string& spec, int64_t numLayers) {
    LayerMask m(numLayers);
    const std::string all = trim(spec);
    if (all.empty() || all == "none") return m;
    std::stringstream ss(all);
    std::string item;
    while (std::getline(ss, item, ',')) {
        item = trim(item);
        const auto colon = item.find(':');
        if (colon == std::string::npos)
            throw Error("removal spec item '" + item +
                        "' needs the form UNIT:INDEX (units: block, attn, ffn)");
        const std::string unit = trim(item.substr(0, colon));
        const std::string range = trim(item.substr(colon + 1));
        Unit u;
        if (unit == "block")
            u = Unit::Block;
        else if (unit == "attn" || unit == "attention")
            u = Unit::Attention;
        else if (unit == "ffn" || unit == "mlp")
            u = Unit::Ffn;
        else
            throw Error("unknown unit '" + unit + "' in removal spec (units: block, attn, ffn)");
        const auto dash = range.find('-');
        int64_t lo = parseIndex(trim(range.substr(0, dash)), spec);
        int64_t hi = dash == std::string::npos ? lo : parseIndex(trim(range.substr(dash + 1)), spec);
        if (hi < lo) throw Error("empty range '" + range + "' in removal spec '" + spec + "'");
        for (int64_t l = lo; l <= hi; ++l)
            m.remove(u, l);
    }
    return m;
}

std::string LayerMask::toSpec() const {
    std::string out;
    for (Unit u : {Unit::Block, Unit::Attention, Unit::Ffn}) {
        for (int64_t l = 0; l < numLayers();) {
            if (!isRemoved(u, l)) {
                ++l;
                continue;
            }
            int64_t e = l;
            while (e + 1 < numLayers() && isRemoved(u, e + 1))
                ++e;
            if (!out.empty()) out += ",";
            out += std::string(unitName(u)) + ":" + std::to_string(l);
            if (e > l) out += "-" + std::to_string(e);
            l = e + 1;
        }
    }
    return out;
}

} // namespace layerlab
