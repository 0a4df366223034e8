#include "workspace/model_loading.h"

#include "model/device.h"
#include "model/device_map.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace layerlab::ui {

LoadedModel loadModelFolder(const std::filesystem::path& dir, const std::string& device,
                            const std::string& dtype, const Progress& progress) {
    LoadOptions options;
    // "auto" or a comma-separated list spreads the layers over several devices.
    if (device == "auto" || device.find(',') != std::string::npos) {
        options.devices = parseDeviceList(device);
        options.device = options.devices.front();
    } else {
        options.device = parseDevice(device);
    }
    options.dtype = parseDtype(dtype);
    LoadedModel out;
    auto model = Model::load(dir, options, progress);
    if (std::filesystem::exists(dir / "tokenizer.json")) {
        progress.report("reading the tokenizer", 0, 0);
        out.tokenizer = std::make_shared<const Tokenizer>(Tokenizer::load(dir));
    }
    out.summary = summarize(*model);
    out.summary.device = device; // what to ask for again when a session is reopened
    out.model = std::move(model);
    return out;
}

std::vector<ComputeDevice> computeDevices() {
    std::vector<ComputeDevice> out;
    int gpus = 0;
    for (const auto& d : availableDevices()) {
        out.push_back({d.name, d.description});
        gpus += d.name.rfind("cuda", 0) == 0;
    }
    if (gpus > 1) out.push_back({"auto", "All " + std::to_string(gpus) + " GPUs, layers split between them"});
    return out;
}

ComputeChoice defaultComputeChoice(const std::vector<ComputeDevice>& devices) {
    for (const auto& d : devices)
        if (d.name.rfind("cuda:", 0) == 0) return {d.name, "bf16"};
    return {"cpu", "f32"};
}

} // namespace layerlab::ui
