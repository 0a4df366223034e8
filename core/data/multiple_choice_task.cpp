#include "data/multiple_choice_task.h"

#include "common/error.h"
#include "io/json_file.h"

#include <nlohmann/json.hpp>

namespace layerlab {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

MultipleChoiceItem parseItem(std::string_view line, int64_t lineNumber, const fs::path& path) {
    const LineFailure fail{path, lineNumber};
    json j = parseJsonLine(line, fail, "\"context\", \"choices\" and \"label\"");

    MultipleChoiceItem item;
    item.line = lineNumber;

    const auto context = j.find("context");
    if (context == j.end()) fail("missing field \"context\"");
    if (!context->is_string()) fail("\"context\" must be a string");
    item.context = context->get<std::string>();

    const auto choices = j.find("choices");
    if (choices == j.end()) fail("missing field \"choices\"");
    if (!choices->is_array()) fail("\"choices\" must be a list of strings");
    if (choices->empty()) fail("\"choices\" is empty");
    for (const auto& choice : *choices) {
        const std::string where = "choices[" + std::to_string(item.choices.size()) + "]";
        if (!choice.is_string()) fail(where + " must be a string");
        // An empty continuation has log-likelihood 0 and would win every comparison.
        if (choice.get_ref<const std::string&>().empty()) fail(where + " is empty");
        item.choices.push_back(choice.get<std::string>());
    }

    const auto label = j.find("label");
    if (label == j.end()) fail("missing field \"label\"");
    // A bool or a float is not an index, even where it would convert.
    if (!label->is_number_integer()) fail("\"label\" must be an integer (0-based index into \"choices\")");
    const auto count = static_cast<int64_t>(item.choices.size());
    if (label->is_number_unsigned() ? label->get<uint64_t>() >= static_cast<uint64_t>(count)
                                    : label->get<int64_t>() < 0 || label->get<int64_t>() >= count)
        fail("\"label\" " + label->dump() + " is out of range (" + std::to_string(count) +
             " choices, numbered 0 to " + std::to_string(count - 1) + ")");
    item.label = label->get<int64_t>();

    const auto id = j.find("id");
    if (id == j.end() || id->is_null())
        item.id = std::to_string(lineNumber);
    else if (id->is_string())
        item.id = id->get<std::string>();
    else if (id->is_number_integer())
        item.id = id->dump();
    else
        fail("\"id\" must be a string or an integer");
    return item;
}

} // namespace

MultipleChoiceTask loadMultipleChoiceTask(const fs::path& path, const MultipleChoiceOptions& options,
                                          const Progress& progress) {
    if (options.maxItems < 0) throw Error("max-items must be 0 (all) or more");
    MultipleChoiceTask task;
    task.name = path.stem().string();
    forEachLine(path, options.limits, progress, "reading " + path.filename().string(),
                [&](std::string_view line, int64_t lineNumber) {
                    if (line.find_first_not_of(" \t") == std::string_view::npos) return;
                    task.items.push_back(parseItem(line, lineNumber, path));
                });
    if (task.items.empty()) throw Error(path, "no items (expected one JSON object per line)");

    DataDescription& d = task.description;
    d.file = path;
    d.format = "multiple-choice";
    d.task = task.name;
    d.available = static_cast<int64_t>(task.items.size());
    if (options.maxItems > 0 && options.maxItems < d.available) {
        std::vector<MultipleChoiceItem> chosen;
        for (size_t i : sampleIndices(task.items.size(), static_cast<size_t>(options.maxItems), options.seed))
            chosen.push_back(std::move(task.items[i]));
        task.items = std::move(chosen);
        d.sampled = true;
    }
    d.items = static_cast<int64_t>(task.items.size());
    d.seed = options.seed;
    progress.report("loaded " + path.filename().string(), d.items, d.items, "items");
    return task;
}

} // namespace layerlab
