#pragma once
// Multiple-choice accuracy the lm-evaluation-harness way: for each item, the log-likelihood of
// every continuation given the context; acc takes the highest total, acc_norm the highest per
// byte of the continuation. Continuations are " " + choice, tokenized as the tail of
// encode(context + " " + choice) after encode(context).

#include <cstdint>
#include <string>
#include <vector>

#include "common/progress.h"
#include "data/multiple_choice_task.h"
#include "model/layer_mask.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace layerlab {

struct ChoiceScore {
    double logLikelihood = 0;
    int64_t tokens = 0; // continuation tokens scored
    int64_t bytes = 0;  // UTF-8 bytes of the continuation, leading space included
};

struct MultipleChoiceResult {
    std::string task;
    int64_t items = 0;
    double acc = 0, accNorm = 0;
    double accStderr = 0, accNormStderr = 0;      // binomial standard error of the mean
    std::vector<std::vector<ChoiceScore>> scores; // [item][choice]
    int64_t tokens = 0;                           // tokens through the model (padding not counted)
    double seconds = 0;                           // scoring only (not tokenizing)
    double tokensPerSecond = 0;
};

struct MultipleChoiceEvalOptions {
    int64_t batchSize = 16; // sequences (item x choice) per forward pass
};

MultipleChoiceResult evaluateMultipleChoice(const Model& model, const Tokenizer& tokenizer,
                                            const MultipleChoiceTask& task, const LayerMask& mask,
                                            const MultipleChoiceEvalOptions& options = {},
                                            const Progress& progress = {});

// One window per item: the context and the right answer, tokenized as above, with only the
// answer's tokens scored. The loss on these windows is the task's answer loss ("task_loss"), a
// value function for drop-one and Shapley metrics.
std::vector<TokenWindow> answerWindows(const Tokenizer& tokenizer, const MultipleChoiceTask& task);

} // namespace layerlab
