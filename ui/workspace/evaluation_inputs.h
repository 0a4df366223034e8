#pragma once
// The calibration text and multiple-choice tasks the workbench evaluates on, read once per
// (file, window length, task files) with the model's tokenizer and kept while those stay the same.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "common/progress.h"
#include "data/dataset.h"
#include "data/multiple_choice_task.h"

namespace layerlab {
class Model;
class Tokenizer;
} // namespace layerlab

namespace layerlab::ui {

struct DataSettings {
    std::filesystem::path calibrationFile;        // .txt or .jsonl; empty: tasks only
    std::vector<std::filesystem::path> taskFiles; // multiple-choice .jsonl
    int64_t seqLen = 256;                         // tokens per window
    int64_t importanceWindows = 16;               // windows the importance metrics use
    int64_t evaluationWindows = 16;               // windows of the refined quick evaluation
    int64_t evaluationItems = 60;                 // items per task of the refined quick evaluation
    bool operator==(const DataSettings&) const = default;
};

struct EvaluationInputs {
    DataSettings settings; // what was loaded
    std::vector<TokenWindow> windows;
    DataDescription description;
    std::vector<MultipleChoiceTask> tasks;

    // Whether these inputs are what `wanted` would load (sample sizes aside).
    bool matches(const DataSettings& wanted) const;
};

// Throws Error naming the file for unreadable or malformed input, Cancelled when asked to stop.
EvaluationInputs loadEvaluationInputs(const Model& model, const Tokenizer* tokenizer,
                                      const DataSettings& settings, const Progress& progress);

// What a job works on: `loaded` when there is one, otherwise the inputs read now (on the worker),
// also handed to `keep` so that the workspace holds on to them.
std::shared_ptr<const EvaluationInputs>
inputsOrLoad(std::shared_ptr<const EvaluationInputs> loaded, const Model& model, const Tokenizer* tokenizer,
             const DataSettings& settings, const Progress& progress,
             const std::function<void(std::shared_ptr<const EvaluationInputs>)>& keep);

// A seeded subset of count windows, in file order (all of them when count <= 0 or >= size).
std::vector<TokenWindow> sampleWindows(const std::vector<TokenWindow>& windows, int64_t count);

} // namespace layerlab::ui
