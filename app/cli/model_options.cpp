#include "model_options.h"

#include "common/error.h"
#include "data_options.h"
#include "model/device.h"
#include "model/device_map.h"

#include <cstdlib>
#include <iostream>

namespace layerlab::cli {

const std::set<std::string>& modelOptionNames() {
    static const std::set<std::string> names = {"model", "device", "devices", "dtype", "adapters", "kernels"};
    return names;
}

std::filesystem::path demoModelDir() {
    namespace fs = std::filesystem;
    if (const char* env = std::getenv("LAYERLAB_DEMO_MODEL"); env && *env) return env;
    const fs::path source = fs::path(LAYERLAB_RESOURCE_DIR) / "demo";
    if (fs::exists(source / "config.json")) return source;
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    const fs::path installed = exe.parent_path().parent_path() / "share" / "layerlab" / "demo";
    if (!ec && fs::exists(installed / "config.json")) return installed;
    throw Error("no --model given and the bundled demo model was not found (looked in " + source.string() +
                ")");
}

std::filesystem::path modelDir(const Arguments& args) {
    if (auto m = args.get("model")) return *m;
    const auto demo = demoModelDir();
    std::cerr << "note: no --model given; using the bundled demo model " << demo.string() << "\n";
    return demo;
}

LoadOptions loadOptions(const Arguments& args) {
    LoadOptions o;
    o.dtype = parseDtype(args.get("dtype", "f32"));
    const auto kernels = args.get("kernels", "fused");
    if (kernels != "fused" && kernels != "reference")
        throw UsageError("--kernels: '" + kernels + "' is neither fused nor reference");
    o.fusedKernels = kernels == "fused";
    if (auto list = args.get("devices")) {
        if (args.get("device")) throw UsageError("give --device or --devices, not both");
        o.devices = parseDeviceList(*list);
        o.device = o.devices.front();
    } else {
        o.device = parseDevice(args.get("device", "cpu"));
    }
    return o;
}

std::shared_ptr<Model> loadModel(const Arguments& args, const Progress& progress) {
    const auto dir = modelDir(args);
    auto options = loadOptions(args);
    // What config.json settles is settled before the weights are read (a bad one is reported by
    // Model::load, naming the problem).
    if (std::filesystem::exists(dir / "config.json")) {
        const auto config = ModelConfig::load(dir / "config.json");
        checkSequenceLength(args, config);
        // Balance a split for the batch this command runs; whole lines (--seq-len 0) may be as
        // long as the context.
        const int64_t seqLen = sequenceLength(args, config);
        options.activationTokens =
            args.getInt("batch-size", 8) * (seqLen > 0 ? seqLen : config.maxPositionEmbeddings);
    }
    auto model = Model::load(dir, options, progress);
    if (model->deviceMap().split())
        std::cerr << "note: layers spread over " << model->deviceMap().describe() << "\n";
    for (const auto& name : model->unusedTensors())
        std::cerr << "note: tensor '" << name << "' in the checkpoint is not used by the "
                  << architectureName(model->config().architecture) << " architecture\n";
    // Adapters from `recover --save-adapters` stand in for the units they were fitted for
    // whenever the command's --remove removes those units.
    if (auto file = args.get("adapters")) {
        auto adapters = loadAdapters(*file, model->config());
        try {
            model->setAdapters(adapters);
        } catch (const Error& e) {
            throw Error(*file, e.what());
        }
    }
    return model;
}

} // namespace layerlab::cli
