#include "model/device.h"

#include "common/error.h"

#include <cstdio>
#include <sstream>

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

std::vector<DeviceInfo> parseGpuMemoryQuery(const std::string& csv) {
    std::vector<DeviceInfo> out;
    std::istringstream lines(csv);
    for (std::string line; std::getline(lines, line);) {
        std::vector<std::string> f;
        std::istringstream fields(line);
        for (std::string x; std::getline(fields, x, ',');) {
            const auto b = x.find_first_not_of(' '), e = x.find_last_not_of(" \r");
            f.push_back(b == std::string::npos ? std::string() : x.substr(b, e - b + 1));
        }
        if (f.size() != 4) continue;
        try {
            const int index = std::stoi(f[0]);
            const double freeMiB = std::stod(f[2]), totalMiB = std::stod(f[3]);
            char text[160];
            // Short enough for the workbench's device list; the total is in totalBytes.
            std::snprintf(text, sizeof text, "GPU %d: %s, %.1f GiB free", index, f[1].c_str(),
                          freeMiB / 1024);
            out.push_back({"cuda:" + std::to_string(index), text, static_cast<int64_t>(freeMiB * 1048576),
                           static_cast<int64_t>(totalMiB * 1048576)});
        } catch (const std::exception&) {
        }
    }
    return out;
}

std::vector<DeviceInfo> availableDevices() {
    std::vector<DeviceInfo> out{{"cpu", "CPU"}};
    if (!torch::cuda::is_available()) return out;
    // Free memory comes from the driver's tool when it is there; LibTorch has no portable query.
    std::string csv;
    if (FILE* p =
            popen("nvidia-smi --query-gpu=index,name,memory.free,memory.total --format=csv,noheader,nounits "
                  "2>/dev/null",
                  "r")) {
        char buf[512];
        while (std::fgets(buf, sizeof buf, p))
            csv += buf;
        pclose(p);
    }
    const auto memory = parseGpuMemoryQuery(csv);
    for (int64_t i = 0; i < static_cast<int64_t>(torch::cuda::device_count()); ++i) {
        const std::string name = "cuda:" + std::to_string(i);
        DeviceInfo d{name, "GPU " + std::to_string(i)};
        for (const auto& m : memory)
            if (m.name == name) d = m;
        out.push_back(d);
    }
    return out;
}

} // namespace layerlab
