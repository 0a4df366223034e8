#include "workspace/evaluation_inputs.h"

#include "common/error.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

#include <algorithm>

namespace layerlab::ui {

bool EvaluationInputs::matches(const DataSettings& wanted) const {
    return settings.calibrationFile == wanted.calibrationFile && settings.taskFiles == wanted.taskFiles &&
           settings.seqLen == wanted.seqLen;
}

EvaluationInputs loadEvaluationInputs(const Model& model, const Tokenizer* tokenizer,
                                      const DataSettings& settings, const Progress& progress) {
    EvaluationInputs in;
    in.settings = settings;
    if (!settings.calibrationFile.empty()) {
        TokenDataOptions o;
        o.windows.seqLen = std::min(settings.seqLen, model.config().maxPositionEmbeddings);
        o.vocabSize = model.config().vocabSize;
        const auto file = settings.calibrationFile;
        TextEncoder encoder = [&](std::string_view text, bool addBos) {
            if (!tokenizer)
                throw Error(file, "has text, but the model folder " + model.dir().string() +
                                      " has no tokenizer.json");
            return tokenizer->encode(text, addBos);
        };
        auto data = loadTokenData(file, encoder, o, progress);
        in.windows = std::move(data.windows);
        in.description = std::move(data.description);
    }
    for (const auto& file : settings.taskFiles) {
        if (!tokenizer)
            throw Error(file, "multiple-choice tasks need the model's tokenizer, and " +
                                  model.dir().string() + " has no tokenizer.json");
        in.tasks.push_back(loadMultipleChoiceTask(file, {}, progress));
    }
    return in;
}

std::shared_ptr<const EvaluationInputs>
inputsOrLoad(std::shared_ptr<const EvaluationInputs> loaded, const Model& model, const Tokenizer* tokenizer,
             const DataSettings& settings, const Progress& progress,
             const std::function<void(std::shared_ptr<const EvaluationInputs>)>& keep) {
    if (loaded) return loaded;
    auto in =
        std::make_shared<const EvaluationInputs>(loadEvaluationInputs(model, tokenizer, settings, progress));
    if (keep) keep(in);
    return in;
}

std::vector<TokenWindow> sampleWindows(const std::vector<TokenWindow>& windows, int64_t count) {
    if (count <= 0 || static_cast<size_t>(count) >= windows.size()) return windows;
    std::vector<TokenWindow> out;
    for (size_t i : sampleIndices(windows.size(), static_cast<size_t>(count), 0))
        out.push_back(windows[i]);
    return out;
}

} // namespace layerlab::ui
