#include "recovery/adapter_training.h"

#include "common/error.h"
#include "common/out_of_memory.h"
#include "data/token_batch.h"
#include "importance/taylor.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <random>

namespace layerlab {

namespace {

torch::Tensor leaf(const torch::Tensor& init) {
    return init.detach().to(torch::kFloat32).clone().set_requires_grad(true);
}

void check(const Model& model, const std::vector<TokenWindow>& windows, const LayerMask& removed,
           const AdapterTrainingOptions& o) {
    const int64_t H = model.config().hiddenSize;
    if (o.steps < 1) throw Error("the number of training steps must be at least 1");
    if (!(o.learningRate > 0)) throw Error("the learning rate must be positive");
    if (o.weightDecay < 0) throw Error("the weight decay cannot be negative");
    if (o.batchSize < 1) throw Error("the batch size must be at least 1");
    if (o.standIns && o.method == AdapterMethod::LowRank && (o.rank < 1 || o.rank > H))
        throw Error("the rank must be between 1 and the hidden size (" + std::to_string(H) + ")");
    if (o.loraRank < 0) throw Error("the LoRA rank cannot be negative");
    if (o.loraAlpha < 0) throw Error("the LoRA alpha cannot be negative");
    if (o.loraRank > 0 && o.loraProjections.empty())
        throw Error("LoRA needs at least one projection to adapt");
    if (windows.empty()) throw Error("training needs calibration text: no token windows were given");
    if (!o.standIns && o.loraRank == 0) throw Error("nothing to train: no stand-ins and no LoRA rank");
    if (o.standIns && removed.empty() && o.loraRank == 0)
        throw Error("no unit is removed: nothing to train a stand-in for");
}

} // namespace

AdapterSet trainAdapters(Model& model, const std::vector<TokenWindow>& windows, const LayerMask& removed,
                         const AdapterTrainingOptions& o, const Progress& progress,
                         AdapterTrainingReport* report) try {
    check(model, windows, removed, o);
    const auto& config = model.config();
    const int64_t L = model.numLayers(), H = config.hiddenSize;
    AdapterRestore restore(model);

    // Starting point of the stand-ins.
    AdapterSet start;
    if (o.standIns && !removed.empty()) {
        if (o.initFromFit) {
            AdapterFitOptions fit;
            fit.method = o.method;
            fit.rank = o.rank;
            fit.ridge = o.ridge;
            fit.batchSize = o.batchSize;
            fit.guard = false; // training sorts out adapters that work against each other
            start = fitAdapters(model, windows, removed, fit, progress);
        } else {
            torch::manual_seed(o.seed);
            for (int64_t l = 0; l < L; ++l)
                for (Unit u : {Unit::Block, Unit::Attention, Unit::Ffn}) {
                    const bool wanted = u == Unit::Block
                                            ? removed.isRemoved(Unit::Block, l)
                                            : !removed.isRemoved(Unit::Block, l) && removed.isRemoved(u, l);
                    if (!wanted) continue;
                    Adapter a{u, l, torch::zeros({H}), {}, {}};
                    if (o.method == AdapterMethod::LowRank) {
                        a.down = torch::randn({H, o.rank}) / std::sqrt(static_cast<double>(H));
                        a.up = torch::zeros({o.rank, H});
                    }
                    start.units.push_back(std::move(a));
                }
        }
    }

    // Trainable float32 leaves; the model sees them converted to its dtype at every step.
    c10::InferenceMode notInference(false);
    torch::AutoGradMode gradMode(true);
    std::vector<torch::Tensor> params;
    AdapterSet leaves;
    for (const auto& a : start.units) {
        const auto device = model.layerDevice(a.layer);
        Adapter p{a.unit, a.layer, leaf(a.bias.to(device)), {}, {}};
        params.push_back(p.bias);
        if (a.down.defined()) {
            p.down = leaf(a.down.to(device));
            p.up = leaf(a.up.to(device));
            params.push_back(p.down);
            params.push_back(p.up);
        }
        leaves.units.push_back(std::move(p));
    }
    const double loraScale = o.loraRank > 0
                                 ? (o.loraAlpha > 0 ? o.loraAlpha : static_cast<double>(o.loraRank)) /
                                       static_cast<double>(o.loraRank)
                                 : 1.0;
    if (o.loraRank > 0) {
        torch::manual_seed(o.seed + 1);
        for (int64_t l = 0; l < L; ++l)
            for (Projection p : o.loraProjections) {
                if (projectionUnit(p) == Unit::Attention ? !removed.attentionOn(l) : !removed.ffnOn(l))
                    continue; // a removed sub-layer has nothing to correct
                const auto [out, in] = projectionShape(config, p);
                if (o.loraRank > std::min(in, out))
                    throw Error("the LoRA rank " + std::to_string(o.loraRank) + " exceeds the " +
                                projectionName(p) + " projection's smaller side (" +
                                std::to_string(std::min(in, out)) + ")");
                // As in LoRA: down random, up zero, so training starts from the model as it is.
                const auto device = model.layerDevice(l);
                LoraAdapter a{
                    l, p,
                    leaf(torch::randn({in, o.loraRank}).to(device) / std::sqrt(static_cast<double>(in))),
                    leaf(torch::zeros({o.loraRank, out}, torch::TensorOptions().device(device)))};
                params.push_back(a.down);
                params.push_back(a.up);
                leaves.lora.push_back(std::move(a));
            }
    }
    if (params.empty()) throw Error("nothing to train: the removal set leaves no projection for LoRA");
    int64_t lowest = L; // layers below every trainable adapter run without autograd
    for (const auto& a : leaves.units)
        lowest = std::min(lowest, a.layer);
    for (const auto& a : leaves.lora)
        lowest = std::min(lowest, a.layer);

    auto current = [&] {
        AdapterSet s;
        s.units = leaves.units;
        for (const auto& a : leaves.lora)
            s.lora.push_back({a.layer, a.projection, a.down, loraScale == 1.0 ? a.up : a.up * loraScale});
        return s;
    };

    torch::optim::AdamW optimizer(params,
                                  torch::optim::AdamWOptions(o.learningRate).weight_decay(o.weightDecay));
    std::vector<size_t> order(windows.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::mt19937_64 rng(o.seed);
    std::shuffle(order.begin(), order.end(), rng);
    size_t next = 0;

    AdapterTrainingReport r;
    for (const auto& p : params)
        r.trainableParameters += p.numel();
    for (int64_t step = 1; step <= o.steps; ++step) {
        progress.checkCancelled();
        std::vector<TokenWindow> batch;
        for (int64_t i = 0; i < o.batchSize && i < static_cast<int64_t>(windows.size()); ++i) {
            if (next == order.size()) {
                std::shuffle(order.begin(), order.end(), rng);
                next = 0;
            }
            batch.push_back(windows[order[next++]]);
        }
        const auto ids = batchTensor(batch).to(model.device());
        const auto targets = targetMask(batch).to(model.device());
        model.setAdapters(current());
        const auto ctx = model.context(ids);
        torch::Tensor h;
        {
            torch::NoGradGuard noGrad;
            h = model.runLayers(model.embed(ids), 0, lowest, removed, ctx);
        }
        h = model.runLayers(h, lowest, L, removed, ctx);
        const auto sum = nextTokenLossSum(model.logits(h), ids, targets);
        const int64_t tokens = targets.narrow(1, 1, targets.size(1) - 1).sum().item<int64_t>();
        if (tokens == 0) continue;
        const auto loss = sum / static_cast<double>(tokens);
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();
        const double value = loss.item<double>();
        if (!std::isfinite(value))
            throw Error("training diverged at step " + std::to_string(step) +
                        " (the loss is not finite); lower the learning rate");
        r.losses.push_back(value);
        r.tokens += tokens;
        char detail[48];
        std::snprintf(detail, sizeof detail, "loss %.4f", value);
        progress.report("training adapters", step, o.steps, "steps", detail);
        if (o.onStep) o.onStep({step, o.steps, value, r.tokens});
    }

    AdapterSet out;
    for (const auto& a : leaves.units)
        out.units.push_back({a.unit, a.layer, a.bias.detach().clone(),
                             a.down.defined() ? a.down.detach().clone() : torch::Tensor(),
                             a.up.defined() ? a.up.detach().clone() : torch::Tensor()});
    for (const auto& a : leaves.lora)
        out.lora.push_back(
            {a.layer, a.projection, a.down.detach().clone(), (a.up * loraScale).detach().clone()});
    if (report) *report = std::move(r);
    return out;
} catch (const std::exception& e) {
    rethrowIfOutOfMemory(e, "training adapters");
    throw;
}

} // namespace layerlab
