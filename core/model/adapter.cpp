#include "model/adapter.h"

#include "common/error.h"
#include "io/safetensors.h"

#include <map>
#include <optional>

namespace layerlab {

std::optional<Projection> parseProjection(const std::string& name) {
    for (int p = 0; p < kProjectionCount; ++p)
        if (name == projectionName(static_cast<Projection>(p))) return static_cast<Projection>(p);
    return std::nullopt;
}

namespace {

std::string key(const Adapter& a, const char* part) {
    return std::string(unitName(a.unit)) + "." + std::to_string(a.layer) + "." + part;
}

std::string key(const LoraAdapter& a, const char* part) {
    return std::string("lora.") + std::to_string(a.layer) + "." + projectionName(a.projection) + "." + part;
}

torch::Tensor float32Cpu(const torch::Tensor& t) {
    return t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
}

// "12" -> 12 when it is a layer of the model; -1 otherwise.
int64_t parseLayer(const std::string& text, int64_t numLayers) {
    if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos)
        return -1;
    const int64_t layer = std::stoll(text);
    return layer < numLayers ? layer : -1;
}

// "q, k, v, o, gate, up" + last + "down", for messages.
std::string projectionNames(const std::string& last) {
    std::string out = projectionName(Projection::Q);
    for (int p = 1; p < kProjectionCount; ++p)
        out += (p + 1 == kProjectionCount ? last : std::string(", ")) +
               projectionName(static_cast<Projection>(p));
    return out;
}

std::vector<std::string> split(const std::string& name) {
    std::vector<std::string> parts;
    size_t from = 0;
    for (size_t dot; (dot = name.find('.', from)) != std::string::npos; from = dot + 1)
        parts.push_back(name.substr(from, dot - from));
    parts.push_back(name.substr(from));
    return parts;
}

} // namespace

std::vector<Projection> parseProjections(const std::string& list) {
    std::vector<Projection> out;
    size_t from = 0;
    while (from <= list.size()) {
        const auto comma = std::min(list.find(',', from), list.size());
        const auto name = list.substr(from, comma - from);
        const auto projection = parseProjection(name);
        if (!projection) throw Error("unknown projection '" + name + "' (" + projectionNames(", ") + ")");
        out.push_back(*projection);
        from = comma + 1;
    }
    return out;
}

const char* projectionName(Projection p) {
    static const char* names[] = {"q", "k", "v", "o", "gate", "up", "down"};
    return names[static_cast<int>(p)];
}

Unit projectionUnit(Projection p) {
    return static_cast<int>(p) <= static_cast<int>(Projection::O) ? Unit::Attention : Unit::Ffn;
}

std::pair<int64_t, int64_t> projectionShape(const ModelConfig& c, Projection p) {
    switch (p) {
    case Projection::Q:
        return {c.qDim(), c.hiddenSize};
    case Projection::K:
    case Projection::V:
        return {c.kvDim(), c.hiddenSize};
    case Projection::O:
        return {c.hiddenSize, c.qDim()};
    case Projection::Gate:
    case Projection::Up:
        return {c.intermediateSize, c.hiddenSize};
    case Projection::Down:
        break;
    }
    return {c.hiddenSize, c.intermediateSize};
}

void saveAdapters(const std::filesystem::path& path, const AdapterSet& adapters) {
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& a : adapters.units) {
        tensors.emplace_back(key(a, "bias"), float32Cpu(a.bias));
        if (a.down.defined()) {
            tensors.emplace_back(key(a, "down"), float32Cpu(a.down));
            tensors.emplace_back(key(a, "up"), float32Cpu(a.up));
        }
    }
    for (const auto& a : adapters.lora) {
        tensors.emplace_back(key(a, "down"), float32Cpu(a.down));
        tensors.emplace_back(key(a, "up"), float32Cpu(a.up));
    }
    writeSafetensors(path, tensors, {{"format", "layerlab-adapters"}, {"version", "2"}});
}

AdapterSet loadAdapters(const std::filesystem::path& path, const ModelConfig& config) {
    const auto file = SafetensorsFile::open(path);
    const auto format = file.metadata().find("format");
    if (format == file.metadata().end() || format->second != "layerlab-adapters")
        throw Error(path,
                    "is not a LayerLab adapter file (metadata \"format\" is not \"layerlab-adapters\")");
    const int64_t H = config.hiddenSize;
    std::map<std::pair<int, int64_t>, Adapter> byUnit;
    std::map<std::pair<int64_t, int>, LoraAdapter> byProjection;
    for (const auto& info : file.tensors()) {
        const auto& name = info.name;
        const auto parts = split(name);
        const auto& s = info.shape;
        auto bad = [&](const std::string& why) { return Error(path, "tensor '" + name + "': " + why); };
        if (parts.size() == 4 && parts[0] == "lora") {
            const int64_t layer = parseLayer(parts[1], config.numLayers);
            const auto projection = parseProjection(parts[2]);
            if (layer < 0)
                throw bad("layer out of range for a model of " + std::to_string(config.numLayers) +
                          " layers");
            if (!projection) throw bad("unknown projection (" + projectionNames(" or ") + ")");
            const auto [out, in] = projectionShape(config, *projection);
            auto& a = byProjection[{layer, static_cast<int>(*projection)}];
            a.layer = layer;
            a.projection = *projection;
            const bool ok =
                parts[3] == "down" ? s.size() == 2 && s[0] == in && s[1] >= 1 && s[1] <= std::min(in, out)
                : parts[3] == "up" ? s.size() == 2 && s[1] == out && s[0] >= 1 && s[0] <= std::min(in, out)
                                   : false;
            if (!ok)
                throw bad("unexpected name or shape for this model's " +
                          std::string(projectionName(*projection)) + " projection [" + std::to_string(out) +
                          ", " + std::to_string(in) + "]");
            (parts[3] == "down" ? a.down : a.up) = file.tensor(info).to(torch::kFloat32).clone();
            continue;
        }
        if (parts.size() != 3) throw bad("unexpected name (block.L.bias, attn.L.down, lora.L.q.up, ...)");
        Unit u;
        if (parts[0] == "block")
            u = Unit::Block;
        else if (parts[0] == "attn")
            u = Unit::Attention;
        else if (parts[0] == "ffn")
            u = Unit::Ffn;
        else
            throw bad("unexpected name (block, attn, ffn or lora)");
        const int64_t layer = parseLayer(parts[1], config.numLayers);
        if (layer < 0)
            throw bad("layer out of range for a model of " + std::to_string(config.numLayers) + " layers");
        auto& a = byUnit[{static_cast<int>(u), layer}];
        a.unit = u;
        a.layer = layer;
        const auto& part = parts[2];
        const bool ok = part == "bias"   ? s.size() == 1 && s[0] == H
                        : part == "down" ? s.size() == 2 && s[0] == H && s[1] >= 1 && s[1] <= H
                        : part == "up"   ? s.size() == 2 && s[1] == H && s[0] >= 1 && s[0] <= H
                                         : false;
        if (!ok) throw bad("unexpected name or shape for hidden size " + std::to_string(H));
        (part == "bias"   ? a.bias
         : part == "down" ? a.down
                          : a.up) = file.tensor(info).to(torch::kFloat32).clone();
    }
    AdapterSet out;
    for (auto& [k, a] : byUnit) {
        const std::string where = std::string(unitName(a.unit)) + "." + std::to_string(a.layer);
        if (!a.bias.defined()) throw Error(path, "adapter " + where + " has no bias");
        if (a.down.defined() != a.up.defined() || (a.down.defined() && a.down.size(1) != a.up.size(0)))
            throw Error(path, "adapter " + where + " needs both down [H, r] and up [r, H] of the same rank");
        out.units.push_back(std::move(a));
    }
    for (auto& [k, a] : byProjection) {
        const std::string where = "lora." + std::to_string(a.layer) + "." + projectionName(a.projection);
        if (!a.down.defined() || !a.up.defined() || a.down.size(1) != a.up.size(0))
            throw Error(path,
                        "adapter " + where + " needs both down [in, r] and up [r, out] of the same rank");
        out.lora.push_back(std::move(a));
    }
    if (out.empty()) throw Error(path, "holds no adapters");
    return out;
}

} // namespace layerlab
