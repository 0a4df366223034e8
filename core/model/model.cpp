#include "model/model.h"

#include "common/error.h"
#include "kernels/fused_ops.h"

#include <torch/version.h>

#include <algorithm>
#include <utility>

// The forward pass (embed -> runLayers -> logits) and the adapters it applies; the weights are
// loaded in model_weights.cpp.

namespace layerlab {

ResidualCapture::ResidualCapture(int64_t numLayers) : points_(static_cast<size_t>(3 * numLayers)) {}

void ResidualCapture::observe(int64_t layer, ResidualPoint point, const torch::Tensor& hidden) {
    points_.at(static_cast<size_t>(3 * layer + static_cast<int>(point))) = hidden;
}

const torch::Tensor& ResidualCapture::at(int64_t layer, ResidualPoint point) const {
    return points_.at(static_cast<size_t>(3 * layer + static_cast<int>(point)));
}

namespace {

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
    return b.defined() ? torch::nn::functional::linear(x, w, b) : torch::nn::functional::linear(x, w);
}

// The layers' sliding windows over S keys, each once; 0 for none (also a window that covers all S),
// as attentionUpdate looks its mask up.
std::vector<int64_t> distinctWindows(const ModelConfig& config, int64_t S) {
    std::vector<int64_t> windows;
    for (int64_t w : config.slidingWindow)
        windows.push_back(w <= 0 || w >= S ? 0 : w);
    std::sort(windows.begin(), windows.end());
    windows.erase(std::unique(windows.begin(), windows.end()), windows.end());
    return windows;
}

} // namespace

SequenceContext Model::context(const torch::Tensor& inputIds, const torch::Tensor& attentionMask,
                               KvCache* cache) const {
    SequenceContext ctx;
    ctx.batch = inputIds.size(0);
    ctx.length = inputIds.size(1);
    ctx.past = cache ? cache->length() : 0;
    ctx.cache = cache;
    const int64_t T = ctx.length, S = ctx.past + T;
    const auto longs = torch::TensorOptions().dtype(torch::kInt64).device(options_.device);
    if (attentionMask.defined() &&
        (attentionMask.dim() != 2 || attentionMask.size(0) != ctx.batch || attentionMask.size(1) != T))
        throw Error("the attention mask must have the shape of input_ids");

    // Which keys are real tokens: [B, S], or undefined when all are.
    torch::Tensor keys;
    if (attentionMask.defined() || (cache && cache->keyMask().defined())) {
        auto now = attentionMask.defined() ? attentionMask.to(options_.device, torch::kBool)
                                           : torch::ones({ctx.batch, T}, longs.dtype(torch::kBool));
        keys = cache && cache->keyMask().defined()
                   ? torch::cat({cache->keyMask().to(options_.device), now}, 1)
               : ctx.past > 0 ? torch::cat({torch::ones({ctx.batch, ctx.past}, now.options()), now}, 1)
                              : now;
    }
    // Positions count real tokens only (as transformers does from the attention mask).
    torch::Tensor positions;
    if (keys.defined())
        positions = (keys.to(torch::kInt64).cumsum(1) - 1).clamp_min(0).narrow(1, ctx.past, T);
    else
        positions = torch::arange(ctx.past, S, longs);
    ctx.tables.rotary = rotaryTables(config_, positions, options_.dtype);

    // Absolute positions of this pass's queries (rows) and of all keys (columns).
    auto i = torch::arange(ctx.past, S, longs).unsqueeze(1), j = torch::arange(S, longs).unsqueeze(0);
    for (int64_t w : distinctWindows(config_, S)) {
        // Plain causal attention over this pass alone needs no mask (the fast kernels do it);
        // neither does a single new token that may see every cached one.
        if (w == 0 && !keys.defined() && (ctx.past == 0 || T == 1)) continue;
        auto allowed = j.le(i);
        if (w > 0) allowed = allowed.logical_and(j.gt(i - w));
        allowed = allowed.unsqueeze(0).unsqueeze(0); // [1, 1, T, S]
        if (keys.defined()) {
            // A padding query sees only itself, so that no row is empty (softmax of nothing).
            allowed = allowed.logical_and(keys.view({ctx.batch, 1, 1, S})).logical_or(j.eq(i));
        }
        ctx.tables.masks.emplace_back(w, allowed);
    }
    for (const auto& d : map_.devices()) {
        if (d == options_.device) continue;
        SequenceTables copy{{ctx.tables.rotary.cos.to(d), ctx.tables.rotary.sin.to(d)}, {}};
        for (const auto& [w, mask] : ctx.tables.masks)
            copy.masks.emplace_back(w, mask.to(d));
        ctx.elsewhere.emplace_back(d, std::move(copy));
    }
    return ctx;
}

const SequenceTables& SequenceContext::on(torch::Device device) const {
    for (const auto& [d, t] : elsewhere)
        if (d == device) return t;
    return tables;
}

torch::Tensor Model::embed(const torch::Tensor& inputIds) const {
    auto ids = inputIds.to(options_.device, torch::kInt64);
    if (ids.numel() > 0) {
        // One synchronisation with the GPU, not two.
        const auto [min, max] = torch::aminmax(ids);
        const auto range = torch::stack({min, max}).cpu();
        const auto lo = range[0].item<int64_t>(), hi = range[1].item<int64_t>();
        if (lo < 0 || hi >= config_.vocabSize)
            throw Error("token id " + std::to_string(lo < 0 ? lo : hi) + " is outside the vocabulary (0 to " +
                        std::to_string(config_.vocabSize - 1) + ")");
    }
    return torch::embedding(embedding_, ids);
}

bool Model::normKernelFits(const torch::Tensor& h, const torch::Tensor& weight,
                           const torch::Tensor* update) const {
    // Outside autograd, one dtype and device, contiguous: what LayerLab's norm kernels take.
    if (!options_.fusedResidualNorm || !fused(h) || !fused::available(h) || h.requires_grad() ||
        weight.requires_grad() || !h.is_contiguous() || !weight.is_contiguous() ||
        weight.scalar_type() != h.scalar_type() || weight.device() != h.device())
        return false;
    return !update || (!update->requires_grad() && update->sizes() == h.sizes() &&
                       update->scalar_type() == h.scalar_type() && update->device() == h.device() &&
                       update->is_contiguous());
}

torch::Tensor Model::rmsNorm(const torch::Tensor& x, const torch::Tensor& weight) const {
    // LayerLab's kernel: transformers' roundings, and the same bits as the add-and-norm kernel, so
    // that a pass restarted from a cached residual (Shapley, drop-one) matches the full pass.
    if (normKernelFits(x, weight)) return fused::rmsNorm(x, weight, config_.rmsNormEps);
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
    // Where gradients flow: one kernel instead of eight on the GPU; it scales in float32 before
    // rounding (transformers rounds first), a difference within the compute dtype's rounding.
    if (fused(x)) return at::rms_norm(x, {x.size(-1)}, weight, config_.rmsNormEps);
#endif
    // Normalise in float32, then scale in the compute dtype (transformers' LlamaRMSNorm).
    auto xf = x.to(torch::kFloat32);
    auto var = xf.pow(2).mean(-1, /*keepdim=*/true);
    xf = xf * torch::rsqrt(var + config_.rmsNormEps);
    return weight * xf.to(x.scalar_type());
}

std::pair<torch::Tensor, torch::Tensor> Model::addThenNorm(const torch::Tensor& h, torch::Tensor update,
                                                           const torch::Tensor* norm) const {
    // One kernel for the add and the next sub-layer's norm on the GPU's fused path; elsewhere
    // the add alone, and the sub-layer normalises h itself.
    if (norm && normKernelFits(h, *norm, &update)) {
        auto sum = fused::addRmsNorm(h, update, *norm, config_.rmsNormEps); // update: now the norm
        return {std::move(sum), std::move(update)};
    }
    return {h + update, torch::Tensor()};
}

LayerMask Model::absentUnits() const {
    LayerMask absent(config_.numLayers);
    for (int64_t l = 0; l < config_.numLayers; ++l) {
        if (config_.attentionKind.at(static_cast<size_t>(l)) == SubLayerKind::Absent)
            absent.remove(Unit::Attention, l);
        if (config_.ffnKind.at(static_cast<size_t>(l)) == SubLayerKind::Absent) absent.remove(Unit::Ffn, l);
    }
    return absent;
}

torch::Tensor Model::attentionUpdate(int64_t l, const torch::Tensor& h, const SequenceContext& ctx) const {
    if (config_.attentionKind.at(static_cast<size_t>(l)) == SubLayerKind::Absent) return torch::zeros_like(h);
    return attentionOfNormed(l, rmsNorm(h, layers_.at(static_cast<size_t>(l)).inputNorm), ctx);
}

torch::Tensor Model::ffnUpdate(int64_t l, const torch::Tensor& h) const {
    if (config_.ffnKind.at(static_cast<size_t>(l)) == SubLayerKind::Absent) return torch::zeros_like(h);
    return ffnOfNormed(l, rmsNorm(h, layers_.at(static_cast<size_t>(l)).postAttentionNorm));
}

torch::Tensor Model::attentionOfNormed(int64_t l, const torch::Tensor& x, const SequenceContext& ctx) const {
    const auto& w = layers_.at(static_cast<size_t>(l));
    if (config_.attentionKind.at(static_cast<size_t>(l)) == SubLayerKind::Linear)
        return linear(x, w.linearAttention, torch::Tensor());
    const int64_t B = x.size(0), T = x.size(1), nh = config_.numHeads, nkv = config_.numKvHeads,
                  hd = config_.headDim;
    const auto& tables = ctx.on(x.device());
    torch::Tensor q, k, v;
    // Gradients for the separate weights (Taylor scores) need the separate products.
    if (w.qkv.defined() && fused(x) && !hasLora(l, {Projection::Q, Projection::K, Projection::V}) &&
        !(w.q.requires_grad() || w.k.requires_grad() || w.v.requires_grad())) {
        auto qkv = linear(x, w.qkv, w.qkvBias);
        q = qkv.narrow(-1, 0, nh * hd);
        k = qkv.narrow(-1, nh * hd, nkv * hd);
        v = qkv.narrow(-1, (nh + nkv) * hd, nkv * hd);
    } else {
        q = project(l, Projection::Q, x, w.q, w.qBias);
        k = project(l, Projection::K, x, w.k, w.kBias);
        v = project(l, Projection::V, x, w.v, w.vBias);
    }
    q = q.view({B, T, nh, hd}).transpose(1, 2);
    k = k.view({B, T, nkv, hd}).transpose(1, 2);
    v = v.view({B, T, nkv, hd}).transpose(1, 2);
    if (fused(x) && fused::available(q) && !q.requires_grad() && !k.requires_grad() &&
        tables.rotary.cos.scalar_type() == q.scalar_type()) {
        // One kernel for both, in place: q and k are fresh products (rows of qkv), used only here.
        fused::rotaryInPlace(q, k, tables.rotary.cos, tables.rotary.sin);
    } else {
        const auto rotate = fused(x) ? &applyRotaryFused : &applyRotary;
        q = rotate(q, tables.rotary);
        k = rotate(k, tables.rotary);
    }
    if (ctx.slot.defined())
        std::tie(k, v) = ctx.cache->appendAt(l, k, v, ctx.slot);
    else if (ctx.cache)
        std::tie(k, v) = ctx.cache->append(l, k, v);
    const int64_t S = k.size(2);
    if (nkv != nh) {
        const int64_t rep = nh / nkv;
        k = k.unsqueeze(2).expand({B, nkv, rep, S, hd}).reshape({B, nh, S, hd});
        v = v.unsqueeze(2).expand({B, nkv, rep, S, hd}).reshape({B, nh, S, hd});
    }
    torch::Tensor allowed; // undefined: causal when S == T, everything (one new token) otherwise
    int64_t window = config_.slidingWindow.at(static_cast<size_t>(l));
    if (window >= S) window = 0;
    for (const auto& [size, mask] : tables.masks)
        if (size == window) allowed = mask;
    const bool causal = !allowed.defined() && S == T && T > 1;

    torch::Tensor out;
#if TORCH_VERSION_MAJOR >= 2
    if (allowed.defined())
        out = at::scaled_dot_product_attention(q, k, v, allowed, 0.0, false);
    else
        out = at::scaled_dot_product_attention(q, k, v, {}, 0.0, causal);
#else
    {
        auto scores = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(hd)));
        if (causal) {
            auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kInt64).device(x.device()));
            allowed = pos.unsqueeze(0).le(pos.unsqueeze(1));
        }
        if (allowed.defined())
            scores = scores.masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
        auto probs = torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type());
        out = torch::matmul(probs, v);
    }
#endif
    out = out.transpose(1, 2).reshape({B, T, nh * hd});
    return project(l, Projection::O, out, w.o, w.oBias);
}

torch::Tensor Model::ffnOfNormed(int64_t l, const torch::Tensor& x) const {
    const auto& w = layers_.at(static_cast<size_t>(l));
    if (config_.ffnKind.at(static_cast<size_t>(l)) == SubLayerKind::Linear)
        return linear(x, w.linearFfn, torch::Tensor());
    torch::Tensor inner;
    if (w.gateUp.defined() && fused(x) && !hasLora(l, {Projection::Gate, Projection::Up}) &&
        !(w.gate.requires_grad() || w.up.requires_grad())) {
        auto gateUp = linear(x, w.gateUp, w.gateUpBias);
        const int64_t I = w.gate.size(0);
        // The kernel keeps no autograd history: not where gradients flow (adapter training).
        inner = fused::available(gateUp) && !gateUp.requires_grad()
                    ? fused::siluMul(gateUp)
                    : torch::silu(gateUp.narrow(-1, 0, I)).mul_(gateUp.narrow(-1, I, I));
    } else {
        inner = torch::silu(project(l, Projection::Gate, x, w.gate, w.gateBias)) *
                project(l, Projection::Up, x, w.up, w.upBias);
    }
    return project(l, Projection::Down, inner, w.down, w.downBias);
}

torch::Tensor Model::runLayers(torch::Tensor h, int64_t from, int64_t to, const LayerMask& mask,
                               const SequenceContext& ctx, ResidualObserver* obs) const {
    // A Nemotron-NAS no_op sub-layer is absent whatever the mask says.
    auto attentionRuns = [&](int64_t l) {
        return mask.attentionOn(l) && config_.attentionKind[static_cast<size_t>(l)] != SubLayerKind::Absent;
    };
    auto ffnRuns = [&](int64_t l) {
        return mask.ffnOn(l) && config_.ffnKind[static_cast<size_t>(l)] != SubLayerKind::Absent;
    };
    // The RMSNorm of h that the next sub-layer takes, where the residual add before it computed
    // it in the same kernel (addThenNorm); undefined otherwise, and whenever h changes elsewhere.
    torch::Tensor normed;
    // The sub-layer's input, handed over rather than kept: it is freed before the add after it.
    auto input = [&](const torch::Tensor& norm) {
        return normed.defined() ? std::exchange(normed, torch::Tensor()) : rmsNorm(h, norm);
    };
    for (int64_t l = from; l < to; ++l) {
        const auto& w = layers_[static_cast<size_t>(l)];
        if (const auto d = map_.layers[static_cast<size_t>(l)]; h.device() != d) {
            h = h.to(d);
            normed = torch::Tensor();
        }
        if (obs && obs->wants(l, ResidualPoint::BlockInput)) obs->observe(l, ResidualPoint::BlockInput, h);
        // A removed block's adapter maps the block input; the sub-layer adapters then stay out.
        const auto* adapters = adapterAt_.empty() ? nullptr : &adapterAt_[static_cast<size_t>(l)];
        const Adapter* block = adapters && mask.isRemoved(Unit::Block, l) ? (*adapters)[0] : nullptr;
        torch::Tensor blockUpdate = block ? adapterUpdate(*block, h) : torch::Tensor();
        const bool ffn = ffnRuns(l);
        if (attentionRuns(l)) {
            auto update = attentionOfNormed(l, input(w.inputNorm), ctx);
            std::tie(h, normed) = addThenNorm(h, std::move(update), ffn ? &w.postAttentionNorm : nullptr);
        } else {
            normed = torch::Tensor();
            if (adapters && !block && (*adapters)[1]) h = h + adapterUpdate(*(*adapters)[1], h);
        }
        if (obs && obs->wants(l, ResidualPoint::AfterAttention))
            obs->observe(l, ResidualPoint::AfterAttention, h);
        if (ffn) {
            auto update = ffnOfNormed(l, input(w.postAttentionNorm));
            // The next layer's input norm, where its attention runs next on the same device.
            const bool next = !block && l + 1 < to && map_.layers[static_cast<size_t>(l + 1)] == h.device() &&
                              attentionRuns(l + 1);
            std::tie(h, normed) = addThenNorm(
                h, std::move(update), next ? &layers_[static_cast<size_t>(l + 1)].inputNorm : nullptr);
        } else {
            normed = torch::Tensor();
            if (adapters && !block && (*adapters)[2]) h = h + adapterUpdate(*(*adapters)[2], h);
        }
        if (block) {
            h = h + blockUpdate;
            normed = torch::Tensor();
        }
        if (obs && obs->wants(l, ResidualPoint::BlockOutput)) obs->observe(l, ResidualPoint::BlockOutput, h);
    }
    return h;
}

torch::Tensor Model::unitInput(Unit unit, int64_t l, const torch::Tensor& h) const {
    const auto& w = layers_.at(static_cast<size_t>(l));
    const auto& norm = unit == Unit::Attention ? w.inputNorm : w.postAttentionNorm;
    if (unit != Unit::Block && !norm.defined())
        throw Error(std::string("layer ") + std::to_string(l) + " has no " + unitName(unit) +
                    " sub-layer (no_op in the checkpoint's block_configs), so nothing normalises its input");
    switch (unit) {
    case Unit::Attention:
    case Unit::Ffn:
        return rmsNorm(h, norm);
    case Unit::Block:
        break;
    }
    return h;
}

torch::Tensor Model::adapterUpdate(const Adapter& a, const torch::Tensor& h) const {
    auto x = unitInput(a.unit, a.layer, h);
    if (!a.down.defined()) return a.bias.expand_as(h);
    return torch::addmm(a.bias, torch::matmul(x.reshape({-1, x.size(-1)}), a.down), a.up).view(h.sizes());
}

bool Model::hasLora(int64_t l, std::initializer_list<Projection> projections) const {
    if (loraAt_.empty()) return false;
    for (auto p : projections)
        if (loraAt_[static_cast<size_t>(l)][static_cast<size_t>(p)]) return true;
    return false;
}

torch::Tensor Model::project(int64_t l, Projection p, const torch::Tensor& x, const torch::Tensor& w,
                             const torch::Tensor& b) const {
    auto y = linear(x, w, b);
    if (loraAt_.empty()) return y;
    const LoraAdapter* a = loraAt_[static_cast<size_t>(l)][static_cast<size_t>(p)];
    if (!a) return y;
    return y + torch::matmul(torch::matmul(x, a->down), a->up);
}

void Model::setAdapters(const AdapterSet& adapters) {
    AdapterSet placed;
    std::vector<std::array<const Adapter*, 3>> at(static_cast<size_t>(config_.numLayers),
                                                  {nullptr, nullptr, nullptr});
    std::vector<std::array<const LoraAdapter*, kProjectionCount>> loraAt(
        static_cast<size_t>(config_.numLayers));
    auto opts = [&](int64_t layer) {
        return torch::TensorOptions()
            .device(map_.layers.at(static_cast<size_t>(layer)))
            .dtype(options_.dtype);
    };
    auto checkLayer = [&](int64_t layer, const std::string& what) {
        if (layer < 0 || layer >= config_.numLayers)
            throw Error(what + ": layer " + std::to_string(layer) + " is out of range; the model has " +
                        std::to_string(config_.numLayers) + " layers");
    };
    for (const auto& a : adapters.units) {
        const std::string what = std::string("adapter ") + unitName(a.unit) + ":" + std::to_string(a.layer);
        checkLayer(a.layer, what);
        if (!a.bias.defined() || a.bias.numel() != config_.hiddenSize ||
            (a.down.defined() && (a.down.size(0) != config_.hiddenSize || !a.up.defined() ||
                                  a.up.size(1) != config_.hiddenSize || a.up.size(0) != a.down.size(1))))
            throw Error(what + " does not fit the model's hidden size " + std::to_string(config_.hiddenSize));
        Adapter p = a;
        p.bias = a.bias.to(opts(a.layer)).reshape({config_.hiddenSize});
        if (a.down.defined()) {
            p.down = a.down.to(opts(a.layer));
            p.up = a.up.to(opts(a.layer));
        }
        placed.units.push_back(std::move(p));
    }
    for (const auto& a : adapters.lora) {
        const std::string what =
            std::string("LoRA adapter ") + projectionName(a.projection) + ":" + std::to_string(a.layer);
        checkLayer(a.layer, what);
        const auto [out, in] = projectionShape(config_, a.projection);
        if (!a.down.defined() || !a.up.defined() || a.down.dim() != 2 || a.up.dim() != 2 ||
            a.down.size(0) != in || a.up.size(1) != out || a.down.size(1) != a.up.size(0))
            throw Error(what + " does not fit the projection's shape [" + std::to_string(out) + ", " +
                        std::to_string(in) + "]");
        LoraAdapter p = a;
        p.down = a.down.to(opts(a.layer));
        p.up = a.up.to(opts(a.layer));
        placed.lora.push_back(std::move(p));
    }
    adapters_ = std::move(placed);
    for (const auto& a : adapters_.units)
        at[static_cast<size_t>(a.layer)][static_cast<size_t>(a.unit)] = &a;
    for (const auto& a : adapters_.lora)
        loraAt[static_cast<size_t>(a.layer)][static_cast<size_t>(a.projection)] = &a;
    adapterAt_ = adapters_.units.empty() ? std::vector<std::array<const Adapter*, 3>>() : std::move(at);
    loraAt_ = adapters_.lora.empty() ? decltype(loraAt_)() : std::move(loraAt);
}

torch::Tensor Model::logits(const torch::Tensor& h) const {
    return torch::nn::functional::linear(rmsNorm(h.to(map_.head), finalNorm_), lmHead_);
}

namespace {

void checkForwardArguments(const torch::Tensor& inputIds, const LayerMask& mask, int64_t numLayers) {
    if (inputIds.dim() != 2) throw Error("input_ids must be a [batch, sequence] tensor");
    if (mask.numLayers() != numLayers)
        throw Error("the layer mask has " + std::to_string(mask.numLayers()) + " layers but the model has " +
                    std::to_string(numLayers));
}

} // namespace

torch::Tensor Model::forward(const torch::Tensor& inputIds, const LayerMask& mask, ResidualObserver* obs,
                             const torch::Tensor& attentionMask) const {
    checkForwardArguments(inputIds, mask, config_.numLayers);
    auto ctx = context(inputIds, attentionMask);
    auto h = embed(inputIds);
    h = runLayers(h, 0, config_.numLayers, mask, ctx, obs);
    return logits(h);
}

torch::Tensor Model::forwardCached(const torch::Tensor& inputIds, const LayerMask& mask, KvCache& cache,
                                   const torch::Tensor& attentionMask) const {
    checkForwardArguments(inputIds, mask, config_.numLayers);
    if (cache.length() > 0 && cache.keyMask().defined() && cache.keyMask().size(0) != inputIds.size(0))
        throw Error("the batch size changed between generation steps");
    auto ctx = context(inputIds, attentionMask, &cache);
    auto h = runLayers(embed(inputIds), 0, config_.numLayers, mask, ctx);
    cache.commit(inputIds.size(1),
                 attentionMask.defined() ? attentionMask.to(options_.device) : attentionMask);
    return logits(h);
}

DecodeState Model::decodeState(const KvCache& cache, const std::vector<int64_t>& realTokens) const {
    if (map_.devices().size() != 1) throw Error("fixed-shape decoding needs the model on one device");
    const auto B = static_cast<int64_t>(realTokens.size());
    const int64_t S = cache.capacity(), past = cache.length();
    const auto longs = torch::TensorOptions().dtype(torch::kInt64).device(options_.device);
    DecodeState s;
    s.ids = torch::zeros({B, 1}, longs);
    s.positions = torch::tensor(realTokens, torch::kInt64).to(options_.device);
    s.slot = torch::full({1}, past, longs);
    s.keyValid = torch::zeros({B, S}, longs.dtype(torch::kBool));
    if (cache.keyMask().defined())
        s.keyValid.narrow(1, 0, past).copy_(cache.keyMask());
    else
        s.keyValid.narrow(1, 0, past).fill_(true);
    s.columns = torch::arange(S, longs);
    auto tables = rotaryTables(config_, s.columns, options_.dtype);
    s.rotary = {tables.cos.squeeze(0), tables.sin.squeeze(0)};
    return s;
}

torch::Tensor Model::decodeStep(DecodeState& s, const LayerMask& mask, KvCache& cache) const {
    checkForwardArguments(s.ids, mask, config_.numLayers);
    const int64_t B = s.ids.size(0), S = cache.capacity();
    SequenceContext ctx;
    ctx.batch = B;
    ctx.length = 1;
    ctx.cache = &cache;
    ctx.slot = s.slot;
    ctx.tables.rotary = {s.rotary.cos.index_select(0, s.positions).unsqueeze(1),
                         s.rotary.sin.index_select(0, s.positions).unsqueeze(1)}; // [B, 1, headDim]
    s.keyValid.index_fill_(1, s.slot, true);
    const auto valid = s.keyValid.view({B, 1, 1, S});
    for (int64_t w : distinctWindows(config_, S))
        ctx.tables.masks.emplace_back(
            w, w == 0 ? valid : valid.logical_and(s.columns.gt(s.slot - w).view({1, 1, 1, S})));
    // No token-id check (it would wait for the GPU): the ids are the model's own picks.
    auto h = runLayers(torch::embedding(embedding_, s.ids), 0, config_.numLayers, mask, ctx);
    auto out = logits(h).select(1, 0);
    // Last, so that a step that fails part way can be run again: what it wrote, it writes again.
    s.positions.add_(1);
    s.slot.add_(1);
    return out;
}

namespace {

// The same sums a chunk of positions at a time, within each row of the batch; the sums stay on
// the device until the end, so the chunks queue without waiting for each other.
LossSum chunkedNextTokenLoss(const torch::Tensor& logits, const torch::Tensor& inputIds,
                             const torch::Tensor& targetMask, int64_t chunkRows) {
    const int64_t B = logits.size(0), T = logits.size(1);
    namespace F = torch::nn::functional;
    const auto options = F::CrossEntropyFuncOptions().reduction(torch::kNone);
    auto ids = inputIds.to(logits.device(), torch::kInt64);
    auto keep = targetMask.defined() ? targetMask.to(logits.device(), torch::kBool) : torch::Tensor();
    auto sum = torch::zeros({}, logits.options().dtype(torch::kFloat64));
    auto count = torch::zeros({}, logits.options().dtype(torch::kInt64));
    for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < T - 1; t += chunkRows) {
            const int64_t n = std::min(chunkRows, T - 1 - t);
            auto each = F::cross_entropy(logits[b].narrow(0, t, n).to(torch::kFloat32),
                                         ids[b].narrow(0, t + 1, n), options);
            if (keep.defined()) {
                const auto k = keep[b].narrow(0, t + 1, n);
                // masked_fill, not masked_select: no synchronisation to learn the selection's size.
                sum += each.masked_fill(k.logical_not(), 0).sum().to(torch::kFloat64);
                count += k.sum();
            } else {
                sum += each.sum().to(torch::kFloat64);
                count += n;
            }
        }
    return {sum.item<double>(), count.item<int64_t>()};
}

} // namespace

LossSum nextTokenLoss(const torch::Tensor& logits, const torch::Tensor& inputIds,
                      const torch::Tensor& targetMask, int64_t chunkRows) {
    const int64_t B = logits.size(0), T = logits.size(1), V = logits.size(2);
    if (T < 2) return {};
    if (chunkRows == 0 && fused::available(logits) && !logits.requires_grad()) {
        // One kernel for log p of every target, one for the sum: no float32 copy of the logits.
        auto logProb = fused::tokenLogProbs(logits.narrow(1, 0, T - 1), inputIds.narrow(1, 1, T - 1));
        auto keep = targetMask.defined() ? targetMask.narrow(1, 1, T - 1) : torch::Tensor();
        const auto sum = fused::negatedMaskedSum(logProb, keep).cpu();
        return {sum[0].item<double>(), static_cast<int64_t>(sum[1].item<double>())};
    }
    if (chunkRows == 0 && logits.is_cuda()) chunkRows = 4096;
    if (chunkRows > 0) return chunkedNextTokenLoss(logits, inputIds, targetMask, chunkRows);
    auto pred = logits.narrow(1, 0, T - 1).reshape({B * (T - 1), V}).to(torch::kFloat32);
    auto target = inputIds.narrow(1, 1, T - 1).reshape({B * (T - 1)}).to(logits.device(), torch::kInt64);
    namespace F = torch::nn::functional;
    if (!targetMask.defined()) {
        auto sum = F::cross_entropy(pred, target, F::CrossEntropyFuncOptions().reduction(torch::kSum));
        return {sum.item<double>(), B * (T - 1)};
    }
    auto keep = targetMask.narrow(1, 1, T - 1).reshape({B * (T - 1)}).to(logits.device(), torch::kBool);
    auto each = F::cross_entropy(pred, target, F::CrossEntropyFuncOptions().reduction(torch::kNone));
    return {each.masked_select(keep).sum().item<double>(), keep.sum().item<int64_t>()};
}

} // namespace layerlab
