#include "model_options.h"

#include "device.h"
#include "error.h"

#include <cstdlib>
#include <iostream>

namespace layerlab::cli {

const std::set<std::string>& modelOptionNames() {
    static const std::set<std::string> names = {"model", "device", "dtype", "adapters"};
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
    o.device = parseDevice(args.get("device", "cpu"));
    o.dtype = parseDtype(args.get("dtype", "f32"));
    return o;
}

std::shared_ptr<Model> loadModel(const Arguments& args, const Progress& progress) {
    auto model = Model::load(modelDir(args), loadOptions(args), progress);
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
