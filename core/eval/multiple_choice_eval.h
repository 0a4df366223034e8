#pragma once
// Multiple-choice accuracy by lm-evaluation-harness' rules (v0.4.12; multiple_choice_eval.cpp
// cites the files): for each item, the log-likelihood of every continuation " " + choice given the
// context; acc takes the highest total, acc_norm the highest per character of the choice,
// acc_bytes the highest per UTF-8 byte, exact_match whether the right continuation is greedy. The
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
    int64_t bytes = 0;      // UTF-8 bytes of the choice, what acc_bytes divides by
    bool greedy = false;    // every continuation token is the argmax of its logits (is_greedy)
};

struct MultipleChoiceResult {
    std::string task;
    int64_t items = 0;
    double acc = 0, accNorm = 0;
    double accStderr = 0, accNormStderr = 0;      // binomial standard error of the mean
    double accBytes = 0, accBytesStderr = 0;      // argmax of log-likelihood per UTF-8 byte of the choice
    double exactMatch = 0;                        // the right choice's continuation is the greedy one
    std::vector<std::vector<ChoiceScore>> scores; // [item][choice]
    // [item]: the choice acc, acc_norm and acc_bytes pick
    std::vector<int64_t> predicted, predictedNorm, predictedBytes;
    int64_t tokens = 0; // tokens through the model (padding not counted)
    double seconds = 0; // scoring only (not tokenizing)
    double tokensPerSecond = 0;
};

struct MultipleChoiceEvalOptions {
    int64_t batchSize = 16; // sequences (item x choice) per forward pass
    // Batches are right-padded to a multiple of this many tokens (0: 16 on a GPU, 1 on the CPU).
    // Padding after the real tokens changes no score (causal attention); on a GPU fewer distinct
    // shapes mean fewer first-time costs (kernel selection and loading, new allocation sizes).
    // Measured on an H200, 400 items (bench/results/side_by_side_h200.md): a first pass at
    // 1, 16, 32, 64 tokens: 26.7k, 35.4k, 35.4k, 33.9k tokens/s; warm 40.0k, 38.4k, 37.0k, 34.7k.
    int64_t lengthMultiple = 0;
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
