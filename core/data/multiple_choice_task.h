#pragma once
// Multiple-choice evaluation tasks (HellaSwag, ARC, PIQA style), one item per .jsonl line:
//   {"context": "...", "choices": ["...", "..."], "label": 1, "id": "optional"}
// label is the 0-based index of the right choice. The task name is the file name without its
// extension. Text stays text here: the evaluator decides how context and choice are encoded.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/progress.h"
#include "data/dataset.h"

namespace layerlab {

struct MultipleChoiceItem {
    std::string id; // from the file (a string or an integer), else the line number
    std::string context;
    std::vector<std::string> choices; // none of them empty
    int64_t label = 0;                // index into choices
    int64_t line = 0;                 // 1-based line in the file, for messages
};

struct MultipleChoiceOptions {
    int64_t maxItems = 0; // 0: all items; else a seeded sample of at most this many
    uint64_t seed = 0;    // picks the sample; the same seed gives the same items
    ReadLimits limits;
};

struct MultipleChoiceTask {
    std::string name;
    std::vector<MultipleChoiceItem> items; // in file order
    DataDescription description;
};

// Blank lines are skipped; unknown fields are ignored. Throws LineError naming the file and line
// for a malformed item, Error when the file holds no item, Cancelled when progress asks to stop.
MultipleChoiceTask loadMultipleChoiceTask(const std::filesystem::path& path,
                                          const MultipleChoiceOptions& options = {},
                                          const Progress& progress = {});

} // namespace layerlab
