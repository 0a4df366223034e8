#include "adapter.h"

#include "error.h"
#include "safetensors.h"

#include <map>

namespace layerlab {

namespace {

std::string key(const Adapter& a, const char* part) {
    return std::string(unitName(a.unit)) + "." + std::to_string(a.layer) + "." + part;
}

} // namespace

void saveAdapters(const std::filesystem::path& path, const AdapterSet& adapters) {
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& a : adapters) {
        tensors.emplace_back(key(a, "bias"), a.bias.to(torch::kCPU, torch::kFloat32).contiguous());
        if (a.down.defined()) {
            tensors.emplace_back(key(a, "down"), a.down.to(torch::kCPU, torch::kFloat32).contiguous());
            tensors.emplace_back(key(a, "up"), a.up.to(torch::kCPU, torch::kFloat32).contiguous());
        }
    }
    writeSafetensors(path, tensors, {{"format", "layerlab-adapters"}, {"version", "1"}});
}

AdapterSet loadAdapters(const std::filesystem::path& path, int64_t numLayers, int64_t hiddenSize) {
    const auto file = SafetensorsFile::open(path);
    const auto format = file.metadata().find("format");
    if (format == file.metadata().end() || format->second != "layerlab-adapters")
        throw Error(path,
                    "is not a LayerLab adapter file (metadata \"format\" is not \"layerlab-adapters\")");
    std::map<std::pair<int, int64_t>, Adapter> byUnit;
    for (const auto& info : file.tensors()) {
        const auto& name = info.name;
        const auto dot1 = name.find('.'), dot2 = name.rfind('.');
        if (dot1 == std::string::npos || dot2 == dot1)
            throw Error(path, "unexpected tensor name '" + name + "'");
        const std::string unit = name.substr(0, dot1), part = name.substr(dot2 + 1);
        Unit u;
        if (unit == "block")
            u = Unit::Block;
        else if (unit == "attn")
            u = Unit::Attention;
        else if (unit == "ffn")
            u = Unit::Ffn;
        else
            throw Error(path, "unexpected tensor name '" + name + "' (block, attn or ffn)");
        int64_t layer = -1;
        try {
            size_t used = 0;
            layer = std::stoll(name.substr(dot1 + 1, dot2 - dot1 - 1), &used);
            if (used != dot2 - dot1 - 1) layer = -1;
        } catch (const std::exception&) {
        }
        if (layer < 0 || layer >= numLayers)
            throw Error(path, "tensor '" + name + "': layer out of range for a model of " +
                                  std::to_string(numLayers) + " layers");
        auto& a = byUnit[{static_cast<int>(u), layer}];
        a.unit = u;
        a.layer = layer;
        auto t = file.tensor(info).to(torch::kFloat32).clone();
        const auto& s = info.shape;
        const bool ok =
            part == "bias"   ? s.size() == 1 && s[0] == hiddenSize
            : part == "down" ? s.size() == 2 && s[0] == hiddenSize && s[1] >= 1 && s[1] <= hiddenSize
            : part == "up"   ? s.size() == 2 && s[1] == hiddenSize && s[0] >= 1 && s[0] <= hiddenSize
                             : false;
        if (!ok)
            throw Error(path, "tensor '" + name + "' has an unexpected name or shape for hidden size " +
                                  std::to_string(hiddenSize));
        (part == "bias" ? a.bias : part == "down" ? a.down : a.up) = t;
    }
    AdapterSet out;
    for (auto& [k, a] : byUnit) {
        const std::string where = std::string(unitName(a.unit)) + "." + std::to_string(a.layer);
        if (!a.bias.defined()) throw Error(path, "adapter " + where + " has no bias");
        if (a.down.defined() != a.up.defined() || (a.down.defined() && a.down.size(1) != a.up.size(0)))
            throw Error(path, "adapter " + where + " needs both down [H, r] and up [r, H] of the same rank");
        out.push_back(std::move(a));
    }
    if (out.empty()) throw Error(path, "holds no adapters");
    return out;
}

} // namespace layerlab
