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
    std::string name;                        // "cpu", "cuda:0"
    std::string description;                 // "CPU", "GPU 0: NVIDIA H100 80GB HBM3, 61.2 GiB free"
    int64_t freeBytes = -1, totalBytes = -1; // GPU memory when known (from nvidia-smi)
};
std::vector<DeviceInfo> availableDevices();
// nvidia-smi's CSV lines "index, name, free MiB, total MiB" -> per-index info (tests feed text).
std::vector<DeviceInfo> parseGpuMemoryQuery(const std::string& csv);

} // namespace layerlab
