#include "data_options.h"

#include "common/error.h"
#include "model_options.h"
#include "tokenizer/tokenizer.h"

#include <iostream>
#include <optional>
#include <sstream>

namespace layerlab::cli {

namespace fs = std::filesystem;

const std::set<std::string>& dataOptionNames() {
    static const std::set<std::string> names = {"data", "seq-len", "stride", "max-sequences", "seed"};
    return names;
}

const std::set<std::string>& dataFlagNames() {
    static const std::set<std::string> names = {"keep-remainder", "no-bos", "beyond-context"};
    return names;
}

fs::path dataFile(const Arguments& args, const Model& model) {
    if (auto d = args.get("data")) return *d;
    if (fs::equivalent(model.dir(), demoModelDir())) {
        const auto heldout = demoModelDir() / "heldout.txt";
        std::cerr << "note: no --data given; using the demo model's held-out text " << heldout.string()
                  << "\n";
        return heldout;
    }
    throw UsageError("option --data is required (a .txt or .jsonl file)");
}

int64_t sequenceLength(const Arguments& args, const ModelConfig& config) {
    return args.getInt("seq-len", std::min<int64_t>(2048, config.maxPositionEmbeddings));
}

void checkSequenceLength(const Arguments& args, const ModelConfig& config) {
    const int64_t seqLen = sequenceLength(args, config), context = config.maxPositionEmbeddings;
    if (seqLen <= context) return;
    if (args.flag("beyond-context")) {
        std::cerr << "note: --seq-len " << seqLen << " is longer than the model's context of " << context
                  << " tokens\n";
        return;
    }
    throw UsageError("--seq-len " + std::to_string(seqLen) + " is longer than the model's context of " +
                     std::to_string(context) +
                     " tokens (max_position_embeddings in config.json); use a shorter --seq-len, or "
                     "--beyond-context to run past it anyway");
}

TokenData loadData(const Arguments& args, const Model& model, const Progress& progress) {
    return loadData(args, model, progress, dataFile(args, model));
}

TokenData loadData(const Arguments& args, const Model& model, const Progress& progress,
                   const fs::path& file) {
    TokenDataOptions o;
    o.windows.seqLen = sequenceLength(args, model.config());
    o.windows.stride = args.getInt("stride", 0);
    o.windows.keepRemainder = args.flag("keep-remainder");
    o.addBos = !args.flag("no-bos");
    o.maxSequences = args.getInt("max-sequences", 0);
    o.seed = static_cast<uint64_t>(args.getInt("seed", 0));
    o.vocabSize = model.config().vocabSize;
    // Past its context a model's positions are untrained (checkSequenceLength refused it already).
    if (!args.flag("beyond-context")) o.maxSeqLen = model.config().maxPositionEmbeddings;

    // The tokenizer is read only when the data has text in it.
    std::optional<Tokenizer> tokenizer;
    TextEncoder encoder = [&](std::string_view text, bool addBos) {
        if (!tokenizer) {
            if (!fs::exists(model.dir() / "tokenizer.json"))
                throw Error(file, "has text, but the model folder " + model.dir().string() +
                                      " has no tokenizer.json");
            tokenizer.emplace(Tokenizer::load(model.dir()));
        }
        return tokenizer->encode(text, addBos);
    };
    return loadTokenData(file, encoder, o, progress);
}

std::vector<MultipleChoiceTask> loadTasks(const Arguments& args, const Progress& progress) {
    std::vector<MultipleChoiceTask> tasks;
    const auto list = args.get("tasks");
    if (!list) return tasks;
    MultipleChoiceOptions o;
    o.maxItems = args.getInt("max-items", 0);
    o.seed = static_cast<uint64_t>(args.getInt("seed", 0));
    std::stringstream files(*list);
    for (std::string file; std::getline(files, file, ',');)
        if (!file.empty()) tasks.push_back(loadMultipleChoiceTask(file, o, progress));
    return tasks;
}

} // namespace layerlab::cli
