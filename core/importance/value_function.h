#pragma once
// What a masked model's output is worth, for drop-one and Shapley-style metrics: its
// language-modelling loss, or how far its next-token predictions move from the full model's.
// A task's answer loss ("task_loss") is the loss on windows whose scored tokens are the right
// answers (see answerWindows in multiple_choice_eval.h), so it needs no kind of its own.

#include <string>
#include <string_view>

#include <torch/torch.h>

#include "model/model.h"

namespace layerlab {

struct ImportanceBatch;

enum class ValueFunction {
    Loss,     // mean next-token cross-entropy over the scored tokens
    LogitL2,  // mean over positions of ||logits - full logits||_2
    Kl,       // mean over positions of KL(p_full || p), p the next-token distribution
    TaskLoss, // the loss, on windows whose scored tokens are a task's right answers
};

std::string valueFunctionName(ValueFunction f);          // "loss", "logit_l2", "kl", "task_loss"
ValueFunction parseValueFunction(std::string_view name); // throws Error for an unknown name

// Scores the logits of one batch: sum and count of the per-position quantity (a loss: lower is
// better, 0 for the full model under the distances). The distances cover every position from the
// one predicting the first scored token to the last (all positions of a window without context).
class BatchScorer {
public:
    // fullLogits: the unmasked model's logits for this batch, if the caller has them already
    // (otherwise they are computed here when the function needs them). chunkRows: positions
    // whose float32 logits and log-probabilities exist at once (0: 2048 on a GPU, where the
    // [batch, T, vocab] float32 tensors would take 2 GiB each for 8 x 2048 positions of a 32k
    // vocabulary; all on the CPU, whose results stay the same bits as ever).
    BatchScorer(ValueFunction function, const Model& model, const ImportanceBatch& batch,
                const torch::Tensor& fullLogits = {}, int64_t chunkRows = 0);
    LossSum operator()(const torch::Tensor& logits) const;

private:
    ValueFunction function_;
    const ImportanceBatch* batch_;
    torch::Tensor reference_; // the full model's logits, in the model's dtype
    // Where one chunk covers the batch (the CPU): the float32 reference computed once, the full
    // logits (logit_l2) or log-probabilities (kl), as the scores were always computed there.
    torch::Tensor wholeReference_;
    int64_t chunkRows_ = 0;
    torch::Tensor positions_; // [B, T] bool: positions the distances average over
};

} // namespace layerlab
