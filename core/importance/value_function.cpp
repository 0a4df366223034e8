#include "importance/value_function.h"

#include "common/error.h"
#include "importance/importance.h"

namespace layerlab {

std::string valueFunctionName(ValueFunction f) {
    switch (f) {
    case ValueFunction::Loss:
        return "loss";
    case ValueFunction::LogitL2:
        return "logit_l2";
    case ValueFunction::Kl:
        return "kl";
    case ValueFunction::TaskLoss:
        return "task_loss";
    }
    return "loss";
}

ValueFunction parseValueFunction(std::string_view name) {
    if (name == "loss") return ValueFunction::Loss;
    if (name == "logit_l2") return ValueFunction::LogitL2;
    if (name == "kl") return ValueFunction::Kl;
    if (name == "task_loss") return ValueFunction::TaskLoss;
    throw Error("unknown value function '" + std::string(name) +
                "' (use loss, logit_l2, kl or task_loss:FILE)");
}

BatchScorer::BatchScorer(ValueFunction function, const Model& model, const ImportanceBatch& batch,
                         const torch::Tensor& fullLogits, int64_t chunkRows)
    : function_(function), batch_(&batch) {
    if (function == ValueFunction::Loss || function == ValueFunction::TaskLoss) return;
    torch::InferenceMode inference;
    reference_ = fullLogits.defined() ? fullLogits : model.forward(batch.ids, LayerMask(model.numLayers()));
    const int64_t rows = reference_.numel() / reference_.size(-1);
    chunkRows_ = chunkRows > 0 ? chunkRows : reference_.is_cuda() ? 2048 : rows;
    if (chunkRows_ >= rows) {
        auto full = reference_.to(torch::kFloat32);
        wholeReference_ = function == ValueFunction::Kl ? torch::log_softmax(full, -1) : full;
    }
    // Position p predicts token p + 1: from the first scored target's predictor to the end.
    const int64_t T = batch.targets.size(1);
    auto predicts =
        torch::cat({batch.targets.narrow(1, 1, T - 1), torch::ones_like(batch.targets.narrow(1, 0, 1))}, 1);
    positions_ = predicts.to(torch::kInt64).cumsum(1).gt(0).to(reference_.device());
}

LossSum BatchScorer::operator()(const torch::Tensor& logits) const {
    if (function_ == ValueFunction::Loss || function_ == ValueFunction::TaskLoss)
        return nextTokenLoss(logits, batch_->ids, batch_->targets);
    const int64_t V = logits.size(-1);
    const auto rows = logits.reshape({-1, V});
    const int64_t N = rows.size(0);
    // Per position, in float32, a chunk of positions at a time. On the CPU one chunk holds the
    // batch and the bits are those of the whole tensor; on a GPU the reductions may split their
    // work differently by chunk, within float32 rounding.
    auto each = torch::empty({N}, rows.options().dtype(torch::kFloat32));
    for (int64_t r = 0; r < N; r += chunkRows_) {
        const int64_t n = std::min(chunkRows_, N - r);
        const auto x = rows.narrow(0, r, n).to(torch::kFloat32);
        auto full = wholeReference_.defined()
                        ? wholeReference_.reshape({-1, V}).to(logits.device())
                        : reference_.reshape({-1, V}).narrow(0, r, n).to(logits.device(), torch::kFloat32);
        if (function_ == ValueFunction::LogitL2) {
            each.narrow(0, r, n).copy_((x - full).norm(2, -1));
        } else {
            if (!wholeReference_.defined()) full = torch::log_softmax(full, -1);
            each.narrow(0, r, n).copy_((full.exp() * (full - torch::log_softmax(x, -1))).sum(-1));
        }
    }
    const auto positions = positions_.to(logits.device());
    return {each.view(positions.sizes()).masked_select(positions).to(torch::kFloat64).sum().item<double>(),
            positions.sum().item<int64_t>()};
}

} // namespace layerlab
