#pragma once
// Parsing of the --device / --dtype words the CLI and the GUI share.

#include <string>
#include <vector>

#include <torch/torch.h>

namespace layerlab {

// "cpu", "cuda", "cuda:N". Throws Error if CUDA is asked for but absent or N is out of range.
torch::Device parseDevice(const std::string& text);
// "f32"/"float32", "bf16"/"bfloat16", "f16"/"float16"/"fp16".
torch::ScalarType parseDtype(const std::string& text);
std::string dtypeName(torch::ScalarType t); // "f32", "bf16", "f16"

struct DeviceInfo {
    std::string name; // "cpu", "cuda:0"
    std::string description;
};
std::vector<DeviceInfo> availableDevices();

} // namespace layerlab
