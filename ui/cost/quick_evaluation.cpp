#include "cost/quick_evaluation.h"

#include "common/error.h"
#include "eval/evaluation.h"
#include "eval/multiple_choice_eval.h"

#include <algorithm>

namespace layerlab::ui {

QuickLevel quickLevel(const DataSettings& settings, int level) {
    if (level + 1 >= kQuickLevels) return {settings.evaluationWindows, settings.evaluationItems};
    return {std::min(settings.evaluationWindows, std::max<int64_t>(2, settings.evaluationWindows / 5)),
            std::min(settings.evaluationItems, std::max<int64_t>(10, settings.evaluationItems / 5))};
}

QuickEvaluation runQuickEvaluation(const Model& model, const Tokenizer* tokenizer,
                                   const EvaluationInputs& inputs, int level, const QuickLevel& sizes,
                                   const LayerMask& mask, const Progress& progress,
                                   const std::function<void(const QuickEvaluation&)>& onLoss) {
    QuickEvaluation r;
    r.level = level;
    r.mask = mask;
    if (!inputs.windows.empty()) {
        const auto windows = sampleWindows(inputs.windows, sizes.windows);
        const auto loss = evaluateLoss(model, windows, mask, LossOptions{}, progress);
        r.hasLoss = true;
        r.loss = loss.loss;
        r.perplexity = loss.perplexity;
        r.tokens = loss.tokens;
        r.windows = loss.sequences;
        if (onLoss && !inputs.tasks.empty()) {
            QuickEvaluation partial = r;
            partial.tasksPending = true;
            for (const auto& t : inputs.tasks)
                partial.tasks.push_back({t.name});
            onLoss(partial);
        }
    }
    for (const auto& full : inputs.tasks) {
        if (!tokenizer) throw Error(full.description.file, "needs the model's tokenizer");
        // Same seeded sample for every mask, so deltas compare like with like.
        MultipleChoiceTask task;
        task.name = full.name;
        task.description = full.description;
        for (size_t i : sampleIndices(full.items.size(), static_cast<size_t>(sizes.items), 0))
            task.items.push_back(full.items[i]);
        const auto m = evaluateMultipleChoice(model, *tokenizer, task, mask, {}, progress);
        r.tasks.push_back({m.task, m.acc, m.accNorm, m.accStderr, m.accNormStderr, m.items});
    }
    return r;
}

} // namespace layerlab::ui
