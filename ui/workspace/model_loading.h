#pragma once
// Opening a model folder for the workbench: weights, tokenizer (when the folder has one) and the
// summary the panels show, plus the compute devices this machine offers.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/progress.h"
#include "workspace/model_summary.h"

namespace layerlab {
class Model;
class Tokenizer;
} // namespace layerlab

namespace layerlab::ui {

struct LoadedModel {
    std::shared_ptr<Model> model;
    std::shared_ptr<const Tokenizer> tokenizer; // null when the folder has no tokenizer.json
    ModelSummary summary;
};

// device: "cpu", "cuda:N", or several ("cuda:0,cuda:1", "auto": all GPUs) to spread the layers over;
// dtype: "f32", "bf16", "f16". Throws Error naming the file, Cancelled.
LoadedModel loadModelFolder(const std::filesystem::path& dir, const std::string& device,
                            const std::string& dtype, const Progress& progress);

struct ComputeDevice {
    std::string name;        // "cpu", "cuda:0", "auto" (all GPUs, split; offered when there are several)
    std::string description; // for the device menu
};
std::vector<ComputeDevice> computeDevices();

// What a first start offers (no saved choice): the first GPU in bf16 where there is one, the CPU
// in f32 otherwise.
struct ComputeChoice {
    std::string device, dtype;
};
ComputeChoice defaultComputeChoice(const std::vector<ComputeDevice>& devices);

} // namespace layerlab::ui
