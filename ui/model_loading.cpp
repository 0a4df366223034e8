#include "model_loading.h"

#include "device.h"
#include "model.h"
#include "tokenizer.h"

namespace layerlab::ui {

LoadedModel loadModelFolder(const std::filesystem::path& dir, const std::string& device,
                            const std::string& dtype, const Progress& progress) {
    LoadOptions options;
    options.device = parseDevice(device);
    options.dtype = parseDtype(dtype);
    LoadedModel out;
    auto model = Model::load(dir, options, progress);
    if (std::filesystem::exists(dir / "tokenizer.json")) {
        progress.report("reading the tokenizer", 0, 0);
        out.tokenizer = std::make_shared<const Tokenizer>(Tokenizer::load(dir));
    }
    out.summary = summarize(*model);
    out.model = std::move(model);
    return out;
}

std::vector<ComputeDevice> computeDevices() {
    std::vector<ComputeDevice> out;
    for (const auto& d : availableDevices())
        out.push_back({d.name, d.description});
    return out;
}

} // namespace layerlab::ui
