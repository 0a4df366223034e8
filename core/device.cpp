#include "device.h"

#include "error.h"

namespace layerlab {

torch::Device parseDevice(const std::string& text) {
    if (text == "cpu") return torch::kCPU;
    if (text.rfind("cuda", 0) != 0) throw Error("unknown device '" + text + "' (use cpu, cuda or cuda:N)");
    if (!torch::cuda::is_available())
        throw Error("device '" + text +
                    "' was asked for but no CUDA GPU is available to this LibTorch build");
    torch::Device d(torch::kCUDA);
    try {
        d = torch::Device(text);
    } catch (const std::exception&) {
        throw Error("unknown device '" + text + "' (use cpu, cuda or cuda:N)");
    }
    const auto count = static_cast<int64_t>(torch::cuda::device_count());
    if (d.has_index() && d.index() >= count)
        throw Error("device '" + text + "' does not exist (" + std::to_string(count) + " CUDA devices)");
    if (!d.has_index()) d = torch::Device(torch::kCUDA, 0);
    return d;
}

torch::ScalarType parseDtype(const std::string& t) {
    if (t == "f32" || t == "float32" || t == "fp32") return torch::kFloat32;
    if (t == "bf16" || t == "bfloat16") return torch::kBFloat16;
    if (t == "f16" || t == "float16" || t == "fp16") return torch::kFloat16;
    throw Error("unknown dtype '" + t + "' (use f32, bf16 or f16)");
}

std::string dtypeName(torch::ScalarType t) {
    switch (t) {
    case torch::kFloat32:
        return "f32";
    case torch::kBFloat16:
        return "bf16";
    case torch::kFloat16:
        return "f16";
    default:
        return c10::toString(t);
    }
}

std::vector<DeviceInfo> availableDevices() {
    std::vector<DeviceInfo> out{{"cpu", "CPU"}};
    if (torch::cuda::is_available())
        for (int64_t i = 0; i < static_cast<int64_t>(torch::cuda::device_count()); ++i)
            out.push_back({"cuda:" + std::to_string(i), "CUDA GPU " + std::to_string(i)});
    return out;
}

} // namespace layerlab
