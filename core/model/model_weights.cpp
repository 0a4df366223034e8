#include "model/model.h"

#include "common/error.h"
#include "common/out_of_memory.h"
#include "model/gpu_warm_up.h"
#include "model/tensor_names.h"

#include <torch/version.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>

// Loading a Model from a checkpoint: every tensor checked against config.json, then read in
// parallel onto the devices of the map; and what the weights count and cost in bytes.

namespace layerlab {

namespace fs = std::filesystem;

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

int64_t numelOr0(const torch::Tensor& t) {
    return t.defined() ? t.numel() : 0;
}

// One tensor holding the parts one after another; the parts become views of it. Empty when a
// part is missing (no bias, or only some have one).
torch::Tensor fuseRows(std::initializer_list<torch::Tensor*> parts) {
    std::vector<torch::Tensor> list;
    for (auto* p : parts) {
        if (!p->defined()) return {};
        list.push_back(*p);
    }
    auto whole = torch::cat(list, 0);
    int64_t at = 0;
    for (auto* p : parts) {
        const int64_t rows = p->size(0);
        *p = whole.narrow(0, at, rows);
        at += rows;
    }
    return whole;
}

} // namespace

std::shared_ptr<Model> Model::load(const fs::path& dir, const LoadOptions& options,
                                   const Progress& progress) try {
    if (!c10::isFloatingType(options.dtype) || options.dtype == torch::kFloat64)
        throw Error("compute dtype must be f32, bf16 or f16");
    // Weights are ordinary tensors whatever mode the caller is in: adapters and tests update them
    // in place, which inference tensors do not allow (the loading threads are never in that mode).
    c10::InferenceMode ordinaryTensors(false);
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

    // The fused paths' matrices (layers on a GPU): q/k/v and gate/up are read straight into row
    // ranges of one matrix each, so the weights are held once.
    struct FusedSlot {
        torch::Tensor whole;
        int64_t offset = 0;
    };
    std::map<std::pair<int64_t, TensorRole>, FusedSlot> fusedSlots;
    if (options.fusedKernels)
        for (int64_t l = 0; l < c.numLayers; ++l) {
            const auto device = m->map_.layers[static_cast<size_t>(l)];
            if (!device.is_cuda()) continue; // the CPU keeps the reference arithmetic
            auto group = [&](std::initializer_list<TensorRole> roles, torch::Tensor LayerWeights::*member) {
                int64_t rows = 0, cols = 0;
                for (auto role : roles) {
                    const auto name = tensorName(role, l);
                    if (!roleExpected(c, role) || !roleExpected(c, role, l) || !ckpt.has(name)) return;
                    rows += ckpt.info(name).shape.at(0);
                    cols = ckpt.info(name).shape.at(1);
                }
                auto whole =
                    torch::empty({rows, cols}, torch::TensorOptions().dtype(options.dtype).device(device));
                int64_t offset = 0;
                for (auto role : roles) {
                    fusedSlots[{l, role}] = {whole, offset};
                    offset += ckpt.info(tensorName(role, l)).shape.at(0);
                }
                m->layers_[static_cast<size_t>(l)].*member = whole;
            };
            group({TensorRole::QProj, TensorRole::KProj, TensorRole::VProj}, &LayerWeights::qkv);
            group({TensorRole::GateProj, TensorRole::UpProj}, &LayerWeights::gateUp);
        }

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
                if (const auto slot = fusedSlots.find({need.layer, need.role}); slot != fusedSlots.end()) {
                    auto rows = slot->second.whole.narrow(0, slot->second.offset, t.size(0));
                    rows.copy_(t);
                    t = rows;
                }
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
        // Beside the readers: the GPU's one-time costs (gpu_warm_up.h), on the first GPU.
        std::jthread warmUp; // joined however the block ends
        if (options.gpuWarmUp)
            for (const auto& d : m->map_.devices())
                if (d.is_cuda() && !warmUp.joinable()) {
                    try {
                        warmUp = std::jthread([&c, d, &options] { warmUpGpu(c, d, options.dtype); });
                    } catch (const std::system_error&) {
                    }
                }
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
    m->fuseBiases();
    // A tied head on another device than the embedding is a copy there.
    if (c.tieWordEmbeddings) m->lmHead_ = m->embedding_.to(m->map_.head);
    for (const auto& name : ckpt.tensorNames())
        if (!used.count(name)) m->unused_.push_back(name);
    return m;
} catch (const std::exception& e) {
    rethrowIfOutOfMemory(e, "loading the weights of " + dir.string());
    throw;
}

void Model::fuseBiases() {
    for (auto& w : layers_) {
        // Some biases only (unusual): the separate products add them.
        if (w.qkv.defined()) {
            w.qkvBias = fuseRows({&w.qBias, &w.kBias, &w.vBias});
            if (!w.qkvBias.defined() && (w.qBias.defined() || w.kBias.defined() || w.vBias.defined()))
                w.qkv = torch::Tensor();
        }
        if (w.gateUp.defined()) {
            w.gateUpBias = fuseRows({&w.gateBias, &w.upBias});
            if (!w.gateUpBias.defined() && (w.gateBias.defined() || w.upBias.defined()))
                w.gateUp = torch::Tensor();
        }
    }
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

} // namespace layerlab
