#include "model/model.h"

#include "common/error.h"
#include "common/out_of_memory.h"
#include "model/tensor_names.h"

#include <torch/version.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>

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
    case TensorRole::LinearAttention:
    case TensorRole::LinearFfn:
        return {H, H};
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
    case TensorRole::LinearAttention:
        return &w.linearAttention;
    case TensorRole::LinearFfn:
        return &w.linearFfn;
    default:
        return nullptr;
    }
}

// A copy to the GPU from pageable memory (the mapped checkpoint) goes through the driver's own
// staging buffer, one copy at a time. Through a small pinned buffer per loading thread instead,
// each thread's reads from the page cache overlap the other threads' transfers.
class PinnedStaging {
public:
    torch::Tensor toDevice(const torch::Tensor& source, torch::Device device) {
        constexpr int64_t kChunk = 16 << 20;
        auto destination = torch::empty(source.sizes(), source.options().device(device));
        auto from = source.contiguous().view({-1}).view(torch::kUInt8);
        auto to = destination.view({-1}).view(torch::kUInt8);
        const int64_t n = from.numel();
        if (!buffer_.defined())
            buffer_ = torch::empty({kChunk}, torch::TensorOptions().dtype(torch::kUInt8).pinned_memory(true));
        for (int64_t offset = 0; offset < n; offset += kChunk) {
            const int64_t length = std::min(kChunk, n - offset);
            auto stage = buffer_.narrow(0, 0, length);
            stage.copy_(from.narrow(0, offset, length));
            to.narrow(0, offset, length).copy_(stage); // blocking: the buffer is free again after
        }
        return destination;
    }

private:
    torch::Tensor buffer_;
};

torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
    return b.defined() ? torch::nn::functional::linear(x, w, b) : torch::nn::functional::linear(x, w);
}

int64_t numelOr0(const torch::Tensor& t) {
    return t.defined() ? t.numel() : 0;
}

} // namespace

std::shared_ptr<Model> Model::load(const fs::path& dir, const LoadOptions& options,
                                   const Progress& progress) try {
    if (!c10::isFloatingType(options.dtype) || options.dtype == torch::kFloat64)
        throw Error("compute dtype must be f32, bf16 or f16");
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
        if (r.perLayer) {
            for (int64_t l = 0; l < c.numLayers; ++l)
                if (roleExpected(c, r.role, l)) needs.push_back({r.role, l});
        } else
            needs.push_back({r.role, -1});
    }

    // Every name, shape and dtype is checked before any tensor is read.
    for (const auto& need : needs) {
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
    }

    // "cuda" means cuda:0 (as parseDevice reads it), so that placements compare equal to tensors' devices.
    auto indexed = [](torch::Device d) {
        return d.is_cuda() && !d.has_index() ? torch::Device(torch::kCUDA, 0) : d;
    };
    std::vector<torch::Device> devices;
    for (const auto& d : options.devices)
        devices.push_back(indexed(d));
    m->map_ = devices.size() > 1
                  ? planDeviceMap(placementCosts(c, options.dtype, options.activationTokens), devices)
                  : DeviceMap::single(devices.empty() ? indexed(options.device) : devices[0], c.numLayers);
    m->options_.device = m->map_.embedding;
#if TORCH_VERSION_MAJOR < 2
    // LibTorch 1.x has no half-precision matrix products on the CPU.
    for (const auto& d : m->map_.placements)
        if (d.is_cpu() && options.dtype == torch::kFloat16)
            throw Error("f16 compute on the CPU needs LibTorch 2 or newer; use f32 or bf16 here");
#endif

    // Threads read tensors in parallel: one thread waits on the page cache or the copy to the GPU
    // far more than it computes, so loading is bound by the disk, not by one core.
    std::vector<torch::Tensor> loaded(needs.size());
    std::atomic<size_t> next{0};
    std::atomic<int64_t> done{0};
    std::atomic<bool> stop{false};
    std::mutex reportMutex;
    std::exception_ptr failure;
    auto work = [&] {
        PinnedStaging staging;
        try {
            for (size_t i = next++; i < needs.size() && !stop; i = next++) {
                const auto& need = needs[i];
                const auto device = need.layer >= 0 ? m->map_.layers[static_cast<size_t>(need.layer)]
                                    : need.role == TensorRole::Embedding ? m->map_.embedding
                                                                         : m->map_.head;
                auto t = ckpt.tensor(tensorName(need.role, need.layer));
                // Copy raw bytes first, convert on the target device: fewer bytes cross the bus.
                if (device.is_cuda())
                    t = staging.toDevice(t, device).to(options.dtype);
                else if (t.scalar_type() != options.dtype || device != torch::kCPU)
                    t = t.to(device).to(options.dtype);
                loaded[i] = std::move(t);
                std::lock_guard<std::mutex> lock(reportMutex);
                if (stop) break;
                progress.checkCancelled();
                progress.report("loading weights", ++done, static_cast<int64_t>(needs.size()), "tensors");
            }
        } catch (...) {
            std::lock_guard<std::mutex> lock(reportMutex);
            if (!failure) failure = std::current_exception();
            stop = true;
        }
    };
    // Measured on an H100 host (bench/results/split_h100.md): 4 threads per GPU reach 31 GB/s from
    // the page cache, 16 contend and reach 21.
    int gpus = 0;
    for (const auto& d : m->map_.devices())
        gpus += d.is_cuda();
    const int hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int wanted =
        options.loadThreads > 0 ? options.loadThreads : std::min(hardware, 4 * std::max(gpus, 1));
    const int threads = std::max(1, std::min(wanted, static_cast<int>(needs.size())));
    {
        std::vector<std::thread> pool;
        for (int t = 1; t < threads; ++t) {
            try {
                pool.emplace_back(work);
            } catch (const std::system_error&) {
                break; // no more threads to be had: the ones running share the work
            }
        }
        work();
        for (auto& t : pool)
            t.join();
    }
    if (failure) std::rethrow_exception(failure);
    for (const auto& d : m->map_.devices())
        if (d.is_cuda()) torch::cuda::synchronize(d.index());

    std::set<std::string> used;
    for (size_t i = 0; i < needs.size(); ++i) {
        const auto& need = needs[i];
        used.insert(tensorName(need.role, need.layer));
        auto& t = loaded[i];
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
    }
    // A tied head on another device than the embedding is a copy there.
    if (c.tieWordEmbeddings) m->lmHead_ = m->embedding_.to(m->map_.head);
    for (const auto& name : ckpt.tensorNames())
        if (!used.count(name)) m->unused_.push_back(name);
    return m;
} catch (const std::exception& e) {
    rethrowIfOutOfMemory(e, "loading the weights of " + dir.string());
    throw;
}

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
    std::vector<int64_t> windows;
    for (int64_t w : config_.slidingWindow)
        windows.push_back(w <= 0 || w >= S ? 0 : w);
    std::sort(windows.begin(), windows.end());
    windows.erase(std::unique(windows.begin(), windows.end()), windows.end());
    for (int64_t w : windows) {
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
    const auto& w = layers_.at(static_cast<size_t>(l));
    switch (config_.attentionKind.at(static_cast<size_t>(l))) {
    case SubLayerKind::Absent:
        return torch::zeros_like(h);
    case SubLayerKind::Linear:
        return linear(rmsNorm(h, w.inputNorm), w.linearAttention, torch::Tensor());
    case SubLayerKind::Full:
        break;
    }
    const int64_t B = h.size(0), T = h.size(1), nh = config_.numHeads, nkv = config_.numKvHeads,
                  hd = config_.headDim;
    const auto& tables = ctx.on(h.device());
    auto x = rmsNorm(h, w.inputNorm);
    auto q = project(l, Projection::Q, x, w.q, w.qBias).view({B, T, nh, hd}).transpose(1, 2);
    auto k = project(l, Projection::K, x, w.k, w.kBias).view({B, T, nkv, hd}).transpose(1, 2);
    auto v = project(l, Projection::V, x, w.v, w.vBias).view({B, T, nkv, hd}).transpose(1, 2);
    q = applyRotary(q, tables.rotary);
    k = applyRotary(k, tables.rotary);
    if (ctx.cache) std::tie(k, v) = ctx.cache->append(l, k, v);
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
            auto pos = torch::arange(T, torch::TensorOptions().dtype(torch::kInt64).device(h.device()));
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

torch::Tensor Model::ffnUpdate(int64_t l, const torch::Tensor& h) const {
    const auto& w = layers_.at(static_cast<size_t>(l));
    switch (config_.ffnKind.at(static_cast<size_t>(l))) {
    case SubLayerKind::Absent:
        return torch::zeros_like(h);
    case SubLayerKind::Linear:
        return linear(rmsNorm(h, w.postAttentionNorm), w.linearFfn, torch::Tensor());
    case SubLayerKind::Full:
        break;
    }
    auto x = rmsNorm(h, w.postAttentionNorm);
    auto inner = torch::silu(project(l, Projection::Gate, x, w.gate, w.gateBias)) *
                 project(l, Projection::Up, x, w.up, w.upBias);
    return project(l, Projection::Down, inner, w.down, w.downBias);
}

torch::Tensor Model::runLayers(torch::Tensor h, int64_t from, int64_t to, const LayerMask& mask,
                               const SequenceContext& ctx, ResidualObserver* obs) const {
    for (int64_t l = from; l < to; ++l) {
        if (const auto d = map_.layers[static_cast<size_t>(l)]; h.device() != d) h = h.to(d);
        if (obs && obs->wants(l, ResidualPoint::BlockInput)) obs->observe(l, ResidualPoint::BlockInput, h);
        // A removed block's adapter maps the block input; the sub-layer adapters then stay out.
        const auto* adapters = adapterAt_.empty() ? nullptr : &adapterAt_[static_cast<size_t>(l)];
        const Adapter* block = adapters && mask.isRemoved(Unit::Block, l) ? (*adapters)[0] : nullptr;
        torch::Tensor blockUpdate = block ? adapterUpdate(*block, h) : torch::Tensor();
        // A Nemotron-NAS no_op sub-layer is absent whatever the mask says.
        const auto li = static_cast<size_t>(l);
        if (mask.attentionOn(l) && config_.attentionKind[li] != SubLayerKind::Absent)
            h = h + attentionUpdate(l, h, ctx);
        else if (adapters && !block && (*adapters)[1])
            h = h + adapterUpdate(*(*adapters)[1], h);
        if (obs && obs->wants(l, ResidualPoint::AfterAttention))
            obs->observe(l, ResidualPoint::AfterAttention, h);
        if (mask.ffnOn(l) && config_.ffnKind[li] != SubLayerKind::Absent)
            h = h + ffnUpdate(l, h);
        else if (adapters && !block && (*adapters)[2])
            h = h + adapterUpdate(*(*adapters)[2], h);
        if (block) h = h + blockUpdate;
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

ParameterCounts Model::parameterCounts() const {
    ParameterCounts p;
    p.embedding = embedding_.numel();
    p.lmHead = config_.tieWordEmbeddings ? 0 : lmHead_.numel();
    p.finalNorm = finalNorm_.numel();
    p.total = p.embedding + p.lmHead + p.finalNorm;
    for (const auto& w : layers_) {
        const int64_t a = numelOr0(w.inputNorm) + numelOr0(w.q) + numelOr0(w.k) + numelOr0(w.v) +
                          numelOr0(w.o) + numelOr0(w.qBias) + numelOr0(w.kBias) + numelOr0(w.vBias) +
                          numelOr0(w.oBias) + numelOr0(w.linearAttention);
        const int64_t f = numelOr0(w.postAttentionNorm) + numelOr0(w.gate) + numelOr0(w.up) +
                          numelOr0(w.down) + numelOr0(w.gateBias) + numelOr0(w.upBias) +
                          numelOr0(w.downBias) + numelOr0(w.linearFfn);
        p.attention.push_back(a);
        p.ffn.push_back(f);
        p.total += a + f;
    }
    return p;
}

PlacementCosts placementCosts(const ModelConfig& c, torch::ScalarType dtype, int64_t tokens) {
    const auto bytes = static_cast<uint64_t>(c10::elementSize(dtype));
    auto size = [&](TensorRole role) {
        uint64_t n = 1;
        for (auto d : expectedShape(c, role))
            n *= static_cast<uint64_t>(d);
        return n * bytes;
    };
    PlacementCosts p;
    p.embedding = size(TensorRole::Embedding);
    p.head = size(TensorRole::FinalNorm) + size(TensorRole::LmHead);
    for (int64_t l = 0; l < c.numLayers; ++l) {
        uint64_t layer = 0;
        for (const auto& r : allTensorRoles())
            if (r.perLayer && roleExpected(c, r.role) && roleExpected(c, r.role, l)) layer += size(r.role);
        p.layers.push_back(layer);
    }
    // One layer's working set: the residual stream, a normalised copy, q/k/v and the attention
    // output, then gate, up and their product; logits also in float32 for the loss.
    const auto t = static_cast<uint64_t>(std::max<int64_t>(tokens, 0));
    p.activations = t * bytes *
                    static_cast<uint64_t>(2 * c.hiddenSize + c.qDim() + 2 * c.kvDim() + c.qDim() +
                                          3 * c.intermediateSize);
    p.logits = t * static_cast<uint64_t>(c.vocabSize) * (bytes + 4);
    return p;
}

uint64_t Model::weightBytes() const {
    int64_t elements = parameterCounts().total;
    if (config_.tieWordEmbeddings && map_.head != map_.embedding) elements += lmHead_.numel(); // its copy
    return static_cast<uint64_t>(elements) * static_cast<uint64_t>(c10::elementSize(options_.dtype));
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
