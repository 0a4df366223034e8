#pragma once
// The options every model-using command shares: --model, --device, --dtype.

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "arguments.h"
#include "model.h"

namespace layerlab::cli {

const std::set<std::string>& modelOptionNames();
std::filesystem::path modelDir(const Arguments& args);
LoadOptions loadOptions(const Arguments& args);
std::shared_ptr<Model> loadModel(const Arguments& args, const Progress& progress);

} // namespace layerlab::cli
