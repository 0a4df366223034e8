#include "model_options.h"

#include "device.h"
#include "error.h"

#include <iostream>

namespace layerlab::cli {

const std::set<std::string>& modelOptionNames() {
    static const std::set<std::string> names = {"model", "device", "dtype"};
    return names;
}

std::filesystem::path modelDir(const Arguments& args) {
    return args.required("model");
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
    return model;
}

} // namespace layerlab::cli
