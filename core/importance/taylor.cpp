#include "importance/taylor.h"

#include "common/out_of_memory.h"

namespace layerlab {

torch::Tensor nextTokenLossSum(const torch::Tensor& logits, const torch::Tensor& inputIds,
                               const torch::Tensor& targets) {
    const int64_t B = logits.size(0), T = logits.size(1), V = logits.size(2);
    const auto dtype = logits.scalar_type() == torch::kFloat64 ? torch::kFloat64 : torch::kFloat32;
    auto pred = logits.narrow(1, 0, T - 1).reshape({B * (T - 1), V}).to(dtype);
    auto target = inputIds.narrow(1, 1, T - 1).reshape({B * (T - 1)}).to(logits.device(), torch::kInt64);
    namespace F = torch::nn::functional;
    auto each = F::cross_entropy(pred, target, F::CrossEntropyFuncOptions().reduction(torch::kNone));
    auto keep = targets.narrow(1, 1, T - 1).reshape({B * (T - 1)}).to(logits.device(), torch::kBool);
    return each.masked_select(keep).sum();
}

namespace {

std::vector<torch::Tensor> defined(std::initializer_list<torch::Tensor> ts) {
    std::vector<torch::Tensor> out;
    for (const auto& t : ts)
        if (t.defined()) out.push_back(t);
    return out;
}

// Turns requires_grad on for the given tensors and restores each one's flag when it goes away
// (also when cancelled or on error), so the model is left as it was found.
class RequireGrad {
public:
    explicit RequireGrad(std::vector<torch::Tensor> tensors) : tensors_(std::move(tensors)) {
        for (const auto& t : tensors_) {
            was_.push_back(t.requires_grad());
            t.set_requires_grad(true);
        }
    }
    ~RequireGrad() {
        for (size_t i = 0; i < tensors_.size(); ++i)
            tensors_[i].set_requires_grad(was_[i]);
    }
    RequireGrad(const RequireGrad&) = delete;
    RequireGrad& operator=(const RequireGrad&) = delete;

private:
    std::vector<torch::Tensor> tensors_;
    std::vector<bool> was_;
};

} // namespace

ImportanceScores taylor(const Model& model, const std::vector<TokenWindow>& windows,
                        const ImportanceOptions& options, const Progress& progress) try {
    const int64_t L = model.numLayers();
    auto batches = makeImportanceBatches(model, windows, options.batchSize);
    // Per layer: the attention weights, then the FFN weights; one flat list for autograd.
    std::vector<torch::Tensor> params;
    std::vector<size_t> attnCount, ffnCount;
    for (int64_t l = 0; l < L; ++l) {
        const auto& w = model.layer(l);
        auto a = defined({w.inputNorm, w.q, w.k, w.v, w.o, w.qBias, w.kBias, w.vBias, w.oBias});
        auto f = defined({w.postAttentionNorm, w.gate, w.up, w.down, w.gateBias, w.upBias, w.downBias});
        attnCount.push_back(a.size());
        ffnCount.push_back(f.size());
        params.insert(params.end(), a.begin(), a.end());
        params.insert(params.end(), f.begin(), f.end());
    }
    // Grad mode is per thread: callers may be inside InferenceMode or NoGradGuard.
    c10::InferenceMode notInference(false);
    torch::AutoGradMode gradMode(true);
    RequireGrad requireGrad(params);
    std::vector<torch::Tensor> grads(params.size());
    double lossSum = 0;
    int64_t tokens = 0;
    for (size_t i = 0; i < batches.size(); ++i) {
        progress.checkCancelled();
        const auto& b = batches[i];
        auto ctx = model.context(b.ids);
        auto h = model.runLayers(model.embed(b.ids), 0, L, LayerMask(L), ctx);
        auto loss = nextTokenLossSum(model.logits(h), b.ids, b.targets);
        auto g = torch::autograd::grad({loss}, params, {}, false, false, true);
        for (size_t p = 0; p < params.size(); ++p) {
            if (!g[p].defined()) continue; // a weight the loss does not reach
            auto gp = g[p].detach().to(torch::kFloat32);
            grads[p] = grads[p].defined() ? grads[p] + gp : gp;
        }
        lossSum += loss.item<double>();
        tokens += b.targets.narrow(1, 1, b.targets.size(1) - 1).sum().item<int64_t>();
        progress.report("taylor", static_cast<int64_t>(i + 1), static_cast<int64_t>(batches.size()),
                        "forward+backward passes");
    }
    ImportanceScores r;
    r.scoredTokens = tokens;
    r.fullLoss = tokens ? lossSum / static_cast<double>(tokens) : 0;
    r.forwardPasses = r.naiveForwardPasses = static_cast<double>(batches.size());
    torch::NoGradGuard noGrad;
    auto& signedScores = r.scores["taylor"];
    auto& absScores = r.scores["taylor_abs"];
    size_t p = 0;
    for (int64_t l = 0; l < L; ++l) {
        double s[2] = {0, 0}, a[2] = {0, 0};
        for (int part = 0; part < 2; ++part) {
            const size_t n = part == 0 ? attnCount[static_cast<size_t>(l)] : ffnCount[static_cast<size_t>(l)];
            for (size_t k = 0; k < n; ++k, ++p) {
                if (!grads[p].defined()) continue;
                // dL/dw of the mean loss: the pooled sum's gradient over the scored tokens.
                auto wg = (params[p].detach().to(torch::kFloat64) * grads[p].to(torch::kFloat64)) /
                          static_cast<double>(tokens);
                s[part] += wg.sum().item<double>();
                a[part] += wg.abs().sum().item<double>();
            }
        }
        signedScores[Unit::Attention].push_back(std::abs(s[0]));
        signedScores[Unit::Ffn].push_back(std::abs(s[1]));
        signedScores[Unit::Block].push_back(std::abs(s[0] + s[1]));
        absScores[Unit::Attention].push_back(a[0]);
        absScores[Unit::Ffn].push_back(a[1]);
        absScores[Unit::Block].push_back(a[0] + a[1]);
    }
    return r;
} catch (const std::exception& e) {
    rethrowIfOutOfMemory(e, "computing Taylor scores");
    throw;
}

} // namespace layerlab
