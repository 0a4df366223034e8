#include "model/device_map.h"

#include "common/error.h"
#include "model/device.h"

#include <algorithm>
#include <numeric>

namespace layerlab {

DeviceMap DeviceMap::single(torch::Device device, int64_t numLayers) {
    DeviceMap m;
    m.embedding = m.head = device;
    m.layers.assign(static_cast<size_t>(numLayers), device);
    m.placements = {device};
    m.starts = {0, numLayers};
    return m;
}

std::vector<torch::Device> DeviceMap::devices() const {
    std::vector<torch::Device> out;
    auto add = [&](torch::Device d) {
        if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
    };
    add(embedding);
    for (auto d : layers)
        add(d);
    add(head);
    return out;
}

std::string DeviceMap::describe() const {
    if (!split()) return embedding.str();
    std::string out;
    const size_t n = starts.size() - 1;
    for (size_t p = 0; p < n; ++p) {
        const int64_t begin = starts[p], end = starts[p + 1];
        if (!out.empty()) out += ", ";
        out += placements.at(p).str();
        if (end - begin == 1)
            out += " layer " + std::to_string(begin);
        else if (end > begin)
            out += " layers " + std::to_string(begin) + "-" + std::to_string(end - 1);
        if (p == 0) out += " + embedding";
        if (p + 1 == n) out += " + head";
    }
    return out;
}

namespace {

// Fixed bytes of placement p of n: activations, plus the embedding (first) and head (last).
uint64_t baseBytes(const PlacementCosts& c, size_t p, size_t n) {
    uint64_t b = c.activations;
    if (p == 0) b += c.embedding;
    if (p + 1 == n) b += c.head + c.logits;
    return b;
}

// Greedy fill: each placement takes as many of the next layers as fit under `limit`; the last
// takes the rest. Returns the first layer of each placement (size n + 1) when every placement
// stays under the limit, empty otherwise. Filling early placements fully never hurts the later
// ones (their suffix only shrinks), so this decides feasibility exactly.
std::vector<size_t> fill(const PlacementCosts& c, size_t n, uint64_t limit) {
    std::vector<size_t> starts{0};
    size_t next = 0;
    for (size_t p = 0; p < n; ++p) {
        uint64_t load = baseBytes(c, p, n);
        if (load > limit) return {};
        if (p + 1 == n) {
            for (; next < c.layers.size(); ++next)
                load += c.layers[next];
            if (load > limit) return {};
        } else {
            while (next < c.layers.size() && load + c.layers[next] <= limit)
                load += c.layers[next++];
        }
        starts.push_back(next);
    }
    return starts;
}

} // namespace

DeviceMap planDeviceMap(const PlacementCosts& costs, const std::vector<torch::Device>& devices) {
    if (devices.empty()) throw Error("no device to place the model on");
    const auto L = static_cast<int64_t>(costs.layers.size());
    if (devices.size() == 1) return DeviceMap::single(devices[0], L);
    const size_t n = devices.size();
    // Binary search for the smallest largest-placement load the greedy fill reaches.
    uint64_t lo = 0, hi = std::accumulate(costs.layers.begin(), costs.layers.end(), uint64_t{0});
    for (size_t p = 0; p < n; ++p)
        hi += baseBytes(costs, p, n);
    while (lo < hi) {
        const uint64_t mid = lo + (hi - lo) / 2;
        if (fill(costs, n, mid).empty())
            lo = mid + 1;
        else
            hi = mid;
    }
    const auto starts = fill(costs, n, lo);
    DeviceMap m;
    m.placements = devices;
    m.starts.assign(starts.begin(), starts.end());
    m.embedding = devices.front();
    m.head = devices.back();
    m.layers.reserve(static_cast<size_t>(L));
    for (size_t p = 0; p < n; ++p)
        for (size_t l = starts[p]; l < starts[p + 1]; ++l)
            m.layers.push_back(devices[p]);
    return m;
}

std::vector<uint64_t> placementBytes(const PlacementCosts& costs, const DeviceMap& map) {
    const size_t n = map.starts.size() - 1;
    std::vector<uint64_t> out;
    for (size_t p = 0; p < n; ++p) {
        uint64_t b = baseBytes(costs, p, n);
        for (int64_t l = map.starts[p]; l < map.starts[p + 1]; ++l)
            b += costs.layers.at(static_cast<size_t>(l));
        out.push_back(b);
    }
    return out;
}

std::vector<torch::Device> parseDeviceList(const std::string& text) {
    std::vector<torch::Device> out;
    if (text == "auto") {
        const auto gpus = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
        for (int i = 0; i < gpus; ++i)
            out.emplace_back(torch::kCUDA, static_cast<c10::DeviceIndex>(i));
        if (out.empty()) out.emplace_back(torch::kCPU);
        return out;
    }
    size_t from = 0;
    while (from <= text.size()) {
        const auto comma = std::min(text.find(',', from), text.size());
        const auto word = text.substr(from, comma - from);
        if (word.empty())
            throw Error("device list '" + text + "' has an empty entry (use e.g. cuda:0,cuda:1)");
        out.push_back(parseDevice(word));
        from = comma + 1;
    }
    return out;
}

} // namespace layerlab
