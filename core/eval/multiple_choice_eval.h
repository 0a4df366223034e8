#pragma once
// Multiple-choice accuracy by lm-evaluation-harness' rules (v0.4.12; multiple_choice_eval.cpp
// cites the files): for each item, the log-likelihood of every continuation " " + choice given the
// context; acc takes the highest total, acc_norm the highest per character of the choice. The
// context's trailing whitespace moves to the continuation, whose tokens are the tail of
// encode(context + continuation) after encode(context); an empty context is the BOS token (EOS
// without one); an item longer than max_position_embeddings loses context tokens from the left.

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
    int64_t tokens = 0;     // continuation tokens scored
    int64_t characters = 0; // code points of the choice (Python's len), what acc_norm divides by
};

struct MultipleChoiceResult {
    std::string task;
    int64_t items = 0;
    double acc = 0, accNorm = 0;
    double accStderr = 0, accNormStderr = 0;       // binomial standard error of the mean
    std::vector<std::vector<ChoiceScore>> scores;  // [item][choice]
    std::vector<int64_t> predicted, predictedNorm; // [item]: the choice acc and acc_norm pick
    int64_t tokens = 0;                            // tokens through the model (padding not counted)
    double seconds = 0;                            // scoring only (not tokenizing)
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
// answer's tokens scored, at most maxLength tokens (max_position_embeddings) in all. The loss on
// these windows is the task's answer loss ("task_loss"), a value function for drop-one and
// Shapley metrics.
std::vector<TokenWindow> answerWindows(const Tokenizer& tokenizer, const MultipleChoiceTask& task,
                                       int64_t maxLength);

} // namespace layerlab
