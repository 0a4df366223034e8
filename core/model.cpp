#include "model.h"

#include "error.h"
#include "tensor_names.h"

#include <torch/version.h>

#include <set>
#include <sstream>

namespace layerlab {

namespace fs = std::filesystem;

ResidualCapture::ResidualCapture(int64_t numLayers) : points_(static_cast<size_t>(3 * numLayers)) {}

void ResidualCapture::observe(int64_t layer, ResidualPoint point, const torch::Tensor& hidden) {
    points_.at(static_cast<size_t>(3 * layer + static_cast<int>(point))) = hidden;
}

const torch::Tensor& ResidualCapture::at(int64_t layer, ResidualPoint point) const {
    return points_.at(static_cast<size_t>(3 * layer + static_cast<int>(point)));
}

namespace {

std::string shapeString(c10::IntArrayRef s) {
    std::ostringstream o;
    o << "[";
    for (size_t i = 0; i < s.size(); ++i)
        o << (i ? ", " : "") << s[i];
    o << "]";
    return o.str();
}

std::vector<int64_t> expectedShape(const ModelConfig& c, TensorRole role) {
    const int64_t H = c.hiddenSize, I = c.intermediateSize;
    switch (role) {
    case TensorRole::Embedding:
    case TensorRole::LmHead:
        return {c.vocabSize, H};
    case TensorRole::FinalNorm:
    case TensorRole::InputNorm:
    case TensorRole::PostAttentionNorm:
    case TensorRole::OBias:
    case TensorRole::DownBias:
        return {H};
    case TensorRole::QProj:
        return {c.qDim(), H};
    case TensorRole::KProj:
    case TensorRole::VProj:
        return {c.kvDim(), H};
    case TensorRole::OProj:
        return {H, c.qDim()};
    case TensorRole::QBias:
        return {c.qDim()};
    case TensorRole::KBias:
    case TensorRole::VBias:
        return {c.kvDim()};
    case TensorRole::GateProj:
    case TensorRole::UpProj:
        return {I, H};
    case TensorRole::DownProj:
        return {H, I};
    case TensorRole::GateBias:
    case TensorRole::UpBias:
        return {I};
    }
    return {};
}

torch::Tensor* slot(LayerWeights& w, TensorRole role) {
    switch (role) {
    case TensorRole::InputNorm:
        return &w.inputNorm;
    case TensorRole::QProj:
        return &w.q;
    case TensorRole::KProj:
        return &w.k;
    case TensorRole::VProj:
        return &w.v;
    case TensorRole::OProj:
        return &w.o;
    case TensorRole::QBias:
        return &w.qBias;
    case TensorRole::KBias:
        return &w.kBias;
    case TensorRole::VBias:
        return &w.vBias;
    case TensorRole::OBias:
        return &w.oBias;
    case TensorRole::PostAttentionNorm:
        return &w.postAttentionNorm;
    case TensorRole::GateProj:
        return &w.gate;
    case TensorRole::UpProj:
        return &w.up;
    case TensorRole::DownProj:
        return &w.down;
    case TensorRole::GateBias:
        return &w.gateBias;
    case TensorRole::UpBias:
        return &w.upBias;
    case TensorRole::DownBias:
        return &w.downBias;
    default:
        return nullptr;
    }
}

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
    return b.defined() ? torch::nn::functional::linear(x, w, b) : torch::nn::functional::linear(x, w);
}

int64_t numelOr0(const torch::Tensor& t) {
    return t.defined() ? t.numel() : 0;
}

} // namespace

std::shared_ptr<Model> Model::load(const fs::path& dir, const LoadOptions& options,
                                   const Progress& progress) {
    if (!c10::isFloatingType(options.dtype) || options.dtype == torch::kFloat64)
        throw Error("compute dtype must be f32, bf16 or f16");
#if TORCH_VERSION_MAJOR < 2
    // LibTorch 1.x has no half-precision matrix products on the CPU.
    if (options.device.is_cpu() && options.dtype == torch::kFloat16)
        throw Error("f16 compute on the CPU needs LibTorch 2 or newer; use f32 or bf16 here");
#endif
    Checkpoint ckpt = Checkpoint::open(dir);
    std::shared_ptr<Model> m(new Model());
    m->dir_ = dir;
    m->config_ = ckpt.config();
    m->options_ = options;
    const ModelConfig& c = m->config_;
    m->layers_.resize(static_cast<size_t>(c.numLayers));

    // The full list of what we need, so progress can count it.
    struct Need {
        TensorRole role;
        int64_t layer;
    };
    std::vector<Need> needs;
    for (const auto& r : allTensorRoles()) {
        if (!roleExpected(c, r.role)) continue;
        if (r.perLayer)
            for (int64_t l = 0; l < c.numLayers; ++l)
                needs.push_back({r.role, l});
        else
            needs.push_back({r.role, -1});
    }

    std::set<std::string> used;
    int64_t done = 0;
    for (const auto& need : needs) {
        progress.checkCancelled();
        const std::string name = tensorName(need.role, need.layer);
        if (!ckpt.has(name)) {
            if (need.role == TensorRole::LmHead)
                throw Error(
                    dir, "missing tensor 'lm_head.weight' (config.json says tie_word_embeddings is false)");
            throw Error(dir, "missing tensor '" + name + "'");
        }
        const TensorInfo& info = ckpt.info(name);
        const auto want = expectedShape(c, need.role);
        if (info.shape != want)
            throw Error(ckpt.shardOf(name).path(), "tensor '" + name + "' has shape " +
                                                       shapeString(info.shape) +
                                                       ", but config.json implies " + shapeString(want));
        if (info.dtype != StDType::F32 && info.dtype != StDType::F16 && info.dtype != StDType::BF16 &&
            info.dtype != StDType::F64)
            throw Error(ckpt.shardOf(name).path(), "tensor '" + name + "' has dtype " +
                                                       stDTypeName(info.dtype) +
                                                       "; weights must be floating point");
        auto t = ckpt.tensor(name);
        // Copy raw bytes first, convert on the target device: fewer bytes cross the bus.
        if (t.scalar_type() != options.dtype || options.device != torch::kCPU) {
            t = t.to(options.device).to(options.dtype);
        }
        used.insert(name);
        if (need.layer < 0) {
            if (need.role == TensorRole::Embedding)
                m->embedding_ = t;
            else if (need.role == TensorRole::FinalNorm)
                m->finalNorm_ = t;
            else
                m->lmHead_ = t;
        } else {
            *slot(m->layers_[static_cast<size_t>(need.layer)], need.role) = t;
        }
        progress.report("loading weights", ++done, static_cast<int64_t>(needs.size()), "tensors");
    }
    if (c.tieWordEmbeddings) m->lmHead_ = m->embedding_;
    for (const auto& name : ckpt.tensorNames())
        if (!used.count(name)) m->unused_.push_back(name);
    return m;
}

SequenceContext Model::context(const torch::Tensor& inputIds) const {
    SequenceContext ctx;
    ctx.batch = inputIds.size(0);
    ctx.length = inputIds.size(1);
    auto positions =
        torch::arange(ctx.length, torch::TensorOptions().dtype(torch::kInt64).device(options_.device));
    ctx.rotary = rotaryTables(config_, positions, options_.dtype);
    for (int64_t w : config_.slidingWindow) {
        if (w <= 0 || w >= ctx.length) continue; // the window covers everything: plain causal
        bool have = false;
        for (const auto& [size, mask] : ctx.windowMasks)
            have = have || size == w;
        if (have) continue;
        auto i = positions.unsqueeze(1), j = positions.unsqueeze(0);
        // Query i sees keys j with i - w < j <= i.
        ctx.windowMasks.emplace_back(w, j.le(i).logical_and(j.gt(i - w)));
    }
    return ctx;
}

torch::Tensor Model::embed(const torch::Tensor& inputIds) const {
    auto ids = inputIds.to(options_.device, torch::kInt64);
    if (ids.numel() > 0) {
        const auto lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
        if (lo < 0 || hi >= config_.vocabSize)
            throw Error("token id " + std::to_string(lo < 0 ? lo : hi) + " is outside the vocabulary (0 to " +
                        std::to_string(config_.vocabSize - 1) + ")");
    }
    return torch::embedding(embedding_, ids);
}

torch::Tensor Model::rmsNorm(const torch::Tensor& x, const torch::Tensor& weight) const {
    // Normalise in float32, then scale in the compute dtype (transformers' LlamaRMSNorm).
    auto xf = x.to(torch::kFloat32);
    auto var = xf.pow(2).mean(-1, /*keepdim=*/true);
    xf = xf * torch::rsqrt(var + config_.rmsNormEps);
    return weight * xf.to(x.scalar_type());
}

torch::Tensor Model::attentionUpdate(int64_t l, const torch::Tensor& h, const SequenceContext& ctx) const {
    const auto& w = layers_.at(static_cast<size_t>(l));
    const int64_t B = h.size(0), T = h.size(1), nh = config_.numHeads, nkv = config_.numKvHeads,
                  hd = config_.headDim;
    auto x = rmsNorm(h, w.inputNorm);
    auto q = linear(x, w.q, w.qBias).view({B, T, nh, hd}).transpose(1, 2);
    auto k = linear(x, w.k, w.kBias).view({B, T, nkv, hd}).transpose(1, 2);
    auto v = linear(x, w.v, w.vBias).view({B, T, nkv, hd}).transpose(1, 2);
    q = applyRotary(q, ctx.rotary);
    k = applyRotary(k, ctx.rotary);
    if (nkv != nh) {
        const int64_t rep = nh / nkv;
        k = k.unsqueeze(2).expand({B, nkv, rep, T, hd}).reshape({B, nh, T, hd});
        v = v.unsqueeze(2).expand({B, nkv, rep, T, hd}).reshape({B, nh, T, hd});
    }
    torch::Tensor allowed; // undefined = plain causal
    const int64_t window = config_.slidingWindow.at(static_cast<size_t>(l));
    for (const auto& [size, mask] : ctx.windowMasks)
        if (size == window) allowed = mask;

    torch::Tensor out;
#if TORCH_VERSION_MAJOR >= 2
    if (allowed.defined())
        out = at::scaled_dot_product_attention(q, k, v, allowed, 0.0, false);
    else
        out = at::scaled_dot_product_attention(q, k, v, {}, 0.0, true);
#else
    {
        auto scores = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(hd)));
        if (!allowed.defined()) {
            auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kInt64).device(h.device()));
            allowed = pos.unsqueeze(0).le(pos.unsqueeze(1));
        }
        scores = scores.masked_fill(allowed.logical_not(), -std::numeric_limits<float>::infinity());
        auto probs = torch::softmax(scores, -1, torch::kFloat32).to(q.scalar_type());
        out = torch::matmul(probs, v);
    }
#endif
    out = out.transpose(1, 2).reshape({B, T, nh * hd});
    return linear(out, w.o, w.oBias);
}

torch::Tensor Model::ffnUpdate(int64_t l, const torch::Tensor& h) const {
    const auto& w = layers_.at(static_cast<size_t>(l));
    auto x = rmsNorm(h, w.postAttentionNorm);
    return linear(torch::silu(linear(x, w.gate, w.gateBias)) * linear(x, w.up, w.upBias), w.down, w.downBias);
}

torch::Tensor Model::runLayers(torch::Tensor h, int64_t from, int64_t to, const LayerMask& mask,
                               const SequenceContext& ctx, ResidualObserver* obs) const {
    for (int64_t l = from; l < to; ++l) {
        if (obs && obs->wants(l, ResidualPoint::BlockInput)) obs->observe(l, ResidualPoint::BlockInput, h);
        if (mask.attentionOn(l)) h = h + attentionUpdate(l, h, ctx);
        if (obs && obs->wants(l, ResidualPoint::AfterAttention))
            obs->observe(l, ResidualPoint::AfterAttention, h);
        if (mask.ffnOn(l)) h = h + ffnUpdate(l, h);
        if (obs && obs->wants(l, ResidualPoint::BlockOutput)) obs->observe(l, ResidualPoint::BlockOutput, h);
    }
    return h;
}

torch::Tensor Model::logits(const torch::Tensor& h) const {
    return torch::nn::functional::linear(rmsNorm(h, finalNorm_), lmHead_);
}

torch::Tensor Model::forward(const torch::Tensor& inputIds, const LayerMask& mask,
                             ResidualObserver* obs) const {
    if (inputIds.dim() != 2) throw Error("input_ids must be a [batch, sequence] tensor");
    if (mask.numLayers() != config_.numLayers)
        throw Error("the layer mask has " + std::to_string(mask.numLayers()) + " layers but the model has " +
                    std::to_string(config_.numLayers));
    auto ctx = context(inputIds);
    auto h = embed(inputIds);
    h = runLayers(h, 0, config_.numLayers, mask, ctx, obs);
    return logits(h);
}

ParameterCounts Model::parameterCounts() const {
    ParameterCounts p;
    p.embedding = embedding_.numel();
    p.lmHead = config_.tieWordEmbeddings ? 0 : lmHead_.numel();
    p.finalNorm = finalNorm_.numel();
    p.total = p.embedding + p.lmHead + p.finalNorm;
    for (const auto& w : layers_) {
        const int64_t a = numelOr0(w.inputNorm) + numelOr0(w.q) + numelOr0(w.k) + numelOr0(w.v) +
                          numelOr0(w.o) + numelOr0(w.qBias) + numelOr0(w.kBias) + numelOr0(w.vBias) +
                          numelOr0(w.oBias);
        const int64_t f = numelOr0(w.postAttentionNorm) + numelOr0(w.gate) + numelOr0(w.up) +
                          numelOr0(w.down) + numelOr0(w.gateBias) + numelOr0(w.upBias) + numelOr0(w.downBias);
        p.attention.push_back(a);
        p.ffn.push_back(f);
        p.total += a + f;
    }
    return p;
}

uint64_t Model::weightBytes() const {
    return static_cast<uint64_t>(parameterCounts().total) *
           static_cast<uint64_t>(c10::elementSize(options_.dtype));
}

LossSum nextTokenLoss(const torch::Tensor& logits, const torch::Tensor& inputIds,
                      const torch::Tensor& targetMask) {
    const int64_t B = logits.size(0), T = logits.size(1), V = logits.size(2);
    if (T < 2) return {};
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
