#pragma once
// Where each part of a model lives when its layers are spread over several devices of one host:
// contiguous ranges of layers, the embedding on the first device, the final norm and LM head on
// the last. The residual stream moves between devices at range boundaries. Planning is plain
// arithmetic on byte counts, so it is tested without GPUs.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace layerlab {

struct DeviceMap {
    torch::Device embedding = torch::kCPU;
    std::vector<torch::Device> layers; // one per layer
    torch::Device head = torch::kCPU;  // final norm and LM head

    static DeviceMap single(torch::Device device, int64_t numLayers);
    // Distinct devices in order of first use (embedding, layers, head).
    std::vector<torch::Device> devices() const;
    std::vector<torch::Device> placements; // in order: the first holds the embedding, the last the head
    // Placement p holds layers [starts[p], starts[p + 1]) (size: placements + 1).
    std::vector<int64_t> starts;
    // More than one placement, even when they are the same device ("cpu,cpu" in tests).
    bool split() const { return starts.size() > 2; }
    // "cuda:0 layers 0-39 + embedding, cuda:1 layers 40-79 + head", or "cuda:0".
    std::string describe() const;
};

// What each placement has to hold, in bytes.
struct PlacementCosts {
    uint64_t embedding = 0;       // first placement
    std::vector<uint64_t> layers; // weights of each layer
    uint64_t head = 0;            // final norm and LM head (a copy of a tied embedding), last placement
    uint64_t activations = 0;     // working set of one layer for the chosen batch, every placement
    uint64_t logits = 0;          // the logits of the chosen batch, last placement
};

// Contiguous layer ranges over `devices` (in the given order, repeats allowed) such that the
// largest per-placement total of the costs above is as small as it can be. Ranges may be empty
// when there are more placements than layers. Throws Error for an empty device list.
DeviceMap planDeviceMap(const PlacementCosts& costs, const std::vector<torch::Device>& devices);
// Bytes each placement of the map holds.
std::vector<uint64_t> placementBytes(const PlacementCosts& costs, const DeviceMap& map);

// "cuda:0,cuda:1", "cpu,cpu" (a split on one device, for tests), "auto": every visible GPU, or
// the CPU when there is none. Each entry as parseDevice; throws Error for a bad entry.
std::vector<torch::Device> parseDeviceList(const std::string& text);

} // namespace layerlab
