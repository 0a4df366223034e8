#pragma once
// The --data options every data-using command shares, and turning them into token windows with
// the model's own tokenizer.

#include <set>
#include <string>

#include "arguments.h"
#include "data/dataset.h"
#include "data/multiple_choice_task.h"
#include "model/model.h"

namespace layerlab::cli {

const std::set<std::string>& dataOptionNames(); // data, seq-len, stride, max-sequences, seed
const std::set<std::string>& dataFlagNames();   // keep-remainder, no-bos

// --seq-len: tokens per window (0: whole lines); default 2048, or the model's context if shorter.
int64_t sequenceLength(const Arguments& args, const ModelConfig& config);
// A --seq-len past the model's max_position_embeddings is a UsageError unless --beyond-context;
// loadModel calls this before any weight is read.
void checkSequenceLength(const Arguments& args, const ModelConfig& config);

// --data, or the demo model's held-out text when the model is the bundled demo.
std::filesystem::path dataFile(const Arguments& args, const Model& model);
TokenData loadData(const Arguments& args, const Model& model, const Progress& progress);
// The same window options applied to another file.
TokenData loadData(const Arguments& args, const Model& model, const Progress& progress,
                   const std::filesystem::path& file);

// The multiple-choice tasks of --tasks a.jsonl,b.jsonl (each sampled by --max-items and --seed);
// none without --tasks.
std::vector<MultipleChoiceTask> loadTasks(const Arguments& args, const Progress& progress);

} // namespace layerlab::cli
