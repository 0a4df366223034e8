// Taylor importance against finite differences of the loss under scaled unit weights.

#include "importance/taylor.h"
#include "io/safetensors.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

using namespace layerlab;

namespace {

std::vector<torch::Tensor> unitWeights(const Model& model, Unit unit, int64_t l) {
    const auto& w = model.layer(l);
    std::vector<torch::Tensor> all;
    if (unit != Unit::Ffn)
        all.insert(all.end(), {w.inputNorm, w.q, w.k, w.v, w.o, w.qBias, w.kBias, w.vBias, w.oBias});
    if (unit != Unit::Attention)
        all.insert(all.end(), {w.postAttentionNorm, w.gate, w.up, w.down, w.gateBias, w.upBias, w.downBias});
    std::vector<torch::Tensor> out;
    for (auto& t : all)
        if (t.defined()) out.push_back(t);
    return out;
}

// Loss with the unit's weights scaled in place by `scale` (the checkpoint mapping is private:
// the file is never written), restored afterwards.
double lossScaled(const Model& model, const torch::Tensor& ids, Unit unit, int64_t l, double scale) {
    torch::NoGradGuard noGrad;
    auto weights = unitWeights(model, unit, l);
    std::vector<torch::Tensor> saved;
    for (auto& t : weights) {
        saved.push_back(t.clone());
        t.mul_(scale);
    }
    const double loss = nextTokenLoss(model.forward(ids, LayerMask(model.numLayers())), ids).mean();
    for (size_t i = 0; i < weights.size(); ++i)
        weights[i].copy_(saved[i]);
    return loss;
}

} // namespace

TEST(Taylor, AgreesWithFiniteDifferences) {
    for (const std::string variant : {"llama_gqa", "llama_tied_bias_headdim"}) {
        SCOPED_TRACE(variant);
        const auto ref = test::readJson(test::referenceDir(variant) / "reference.json");
        auto model = Model::load(test::referenceDir(variant), {test::testDevice(), torch::kFloat32});
        const auto windows = test::referenceWindows(variant);
        ImportanceOptions options;
        options.batchSize = 1;              // gradients pooled over two batches
        torch::NoGradGuard callerHasNoGrad; // taylor() must turn grad mode on itself
        const auto r = taylor(*model, windows, options);
        EXPECT_NEAR(r.fullLoss, ref["losses"]["none"].get<double>(), 1e-5);
        EXPECT_FALSE(model->layer(0).q.requires_grad()); // restored
        auto ids =
            torch::stack({torch::tensor(windows[0].ids), torch::tensor(windows[1].ids)}).to(model->device());
        const double eps = 2e-3; // truncation ~eps^2, float32 loss noise ~1e-6 / eps
        for (Unit u : {Unit::Block, Unit::Attention, Unit::Ffn}) {
            for (int64_t l = 0; l < model->numLayers(); ++l) {
                // Central difference of the loss along w -> (1 + t) w at t = 0: sum w * dL/dw.
                const double fd =
                    (lossScaled(*model, ids, u, l, 1 + eps) - lossScaled(*model, ids, u, l, 1 - eps)) /
                    (2 * eps);
                const double est = r.scores.at("taylor")[u][l];
                const double absSum = r.scores.at("taylor_abs")[u][l];
                std::cout << variant << " " << unitName(u) << ":" << l << " taylor " << est << " fd "
                          << std::abs(fd) << " taylor_abs " << absSum << "\n";
                EXPECT_NEAR(est, std::abs(fd), 0.03 * std::abs(fd) + 2e-3) << unitName(u) << ":" << l;
                EXPECT_GE(absSum, est - 1e-9);
            }
        }
        for (int64_t l = 0; l < model->numLayers(); ++l) {
            const auto& a = r.scores.at("taylor_abs");
            EXPECT_NEAR(a[Unit::Block][l], a[Unit::Attention][l] + a[Unit::Ffn][l], 1e-9);
        }
    }
}

TEST(Taylor, Cancels) {
    auto model = Model::load(test::referenceDir("llama_gqa"), {torch::kCPU, torch::kFloat32});
    CancelToken token;
    token.cancel();
    EXPECT_THROW(taylor(*model, test::referenceWindows("llama_gqa"), {}, Progress({}, token)), Cancelled);
    EXPECT_FALSE(model->layer(0).q.requires_grad());
}
