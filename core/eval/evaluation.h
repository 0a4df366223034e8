#pragma once
// Evaluation of the model's language-modelling loss over token sequences, batched, under a
// layer mask. (Perplexity variants, multiple-choice and generation build on this.)

#include <cstdint>
#include <functional>
#include <vector>

#include <torch/torch.h>

#include "common/progress.h"
#include "data/dataset.h"
#include "model/layer_mask.h"
#include "model/model.h"

namespace layerlab {

struct LossEvaluation {
    double loss = 0; // mean next-token cross-entropy over all predicted positions
    double perplexity = 0;
    int64_t tokens = 0; // predicted positions
    int64_t sequences = 0;
    double seconds = 0;
    double tokensPerSecond = 0; // input tokens through the model per second
};

struct LossOptions {
    int64_t batchSize = 8;
    // Called with each batch's logits (on the model's device) and the indices of its windows,
    // e.g. to save them. Windows of equal length are batched together.
    std::function<void(const torch::Tensor& logits, const std::vector<size_t>& indices)> onLogits;
};

// Scores each window's target tokens (strided windows: context tokens are not scored).
// Throws Error on empty input or when nothing is scored; Cancelled when asked to stop.
LossEvaluation evaluateLoss(const Model& model, const std::vector<TokenWindow>& windows,
                            const LayerMask& mask, const LossOptions& options, const Progress& progress = {});

// Loss per word and per byte of the text, as lm-evaluation-harness reports for perplexity tasks:
// word_perplexity = exp(NLL / words), byte_perplexity = exp(NLL / bytes), bits_per_byte =
// NLL / (bytes ln 2), NLL summed over the scored tokens. When the scored tokens cover only a
// share of the text (a sample, a dropped remainder, no BOS), words and bytes are that share of
// the text's, and `exact` is false.
struct TextPerplexity {
    double wordPerplexity = 0;
    double bytePerplexity = 0;
    double bitsPerByte = 0;
    double coverage = 0; // scored share of the text's predictable tokens
    bool exact = false;
};
// Throws Error when the data has no text (token ids only).
TextPerplexity textPerplexity(const LossEvaluation& loss, const TextStatistics& text);

} // namespace layerlab
