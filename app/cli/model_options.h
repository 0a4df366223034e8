#pragma once
// The options every model-using command shares: --model, --device / --devices, --dtype, --adapters.

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "arguments.h"
#include "model/model.h"

namespace layerlab::cli {

const std::set<std::string>& modelOptionNames();
// The bundled demo model: $LAYERLAB_DEMO_MODEL, the source tree's resources/demo, or the
// installed share/layerlab/demo.
std::filesystem::path demoModelDir();
// --model, or the demo model (saying so on stderr).
std::filesystem::path modelDir(const Arguments& args);
LoadOptions loadOptions(const Arguments& args);
std::shared_ptr<Model> loadModel(const Arguments& args, const Progress& progress);

} // namespace layerlab::cli
