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
                         const torch::Tensor& fullLogits)
    : function_(function), batch_(&batch) {
    if (function == ValueFunction::Loss || function == ValueFunction::TaskLoss) return;
    torch::InferenceMode inference;
    auto full = fullLogits.defined() ? fullLogits : model.forward(batch.ids, LayerMask(model.numLayers()));
    full = full.to(torch::kFloat32);
    reference_ = function == ValueFunction::Kl ? torch::log_softmax(full, -1) : full;
    // Position p predicts token p + 1: from the first scored target's predictor to the end.
    const int64_t T = batch.targets.size(1);
    auto predicts =
        torch::cat({batch.targets.narrow(1, 1, T - 1), torch::ones_like(batch.targets.narrow(1, 0, 1))}, 1);
    positions_ = predicts.to(torch::kInt64).cumsum(1).gt(0).to(reference_.device());
}

LossSum BatchScorer::operator()(const torch::Tensor& logits) const {
    if (function_ == ValueFunction::Loss || function_ == ValueFunction::TaskLoss)
        return nextTokenLoss(logits, batch_->ids, batch_->targets);
    auto x = logits.to(torch::kFloat32);
    torch::Tensor each; // [B, T]
    if (function_ == ValueFunction::LogitL2) {
        each = (x - reference_).norm(2, -1);
    } else {
        auto logp = torch::log_softmax(x, -1);
        each = (reference_.exp() * (reference_ - logp)).sum(-1);
    }
    return {each.masked_select(positions_).to(torch::kFloat64).sum().item<double>(),
            positions_.sum().item<int64_t>()};
}

} // namespace layerlab
