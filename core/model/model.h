#pragma once
// A Llama-family decoder (Llama, Mistral, Qwen2) evaluated with LibTorch, with a layer mask
// applied per call and optional observation of the residual stream between sub-layers.
//
// The forward pass is split into embed -> runLayers -> logits so that metrics can restart the
// computation from a cached residual stream at any layer (drop-one, Shapley).

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "common/progress.h"
#include "model/adapter.h"
#include "model/checkpoint.h"
#include "model/device_map.h"
#include "model/kv_cache.h"
#include "model/layer_mask.h"
#include "model/model_config.h"
#include "model/parameter_counts.h"
#include "model/rotary.h"

namespace layerlab {

struct LoadOptions {
    LoadOptions() = default;
    LoadOptions(torch::Device d, torch::ScalarType t) : device(d), dtype(t) {}

    torch::Device device = torch::kCPU;
    torch::ScalarType dtype = torch::kFloat32; // compute dtype; weights are held in it
    // Two or more: the layers are spread over these devices in contiguous ranges (`device` is
    // then not used), balanced for batches of `activationTokens` tokens (batch x sequence).
    std::vector<torch::Device> devices;
    int64_t activationTokens = 8 * 2048;
    // Threads reading tensors from the checkpoint (0: 4 per GPU, 4 for the CPU, at most one per core).
    int loadThreads = 0;
    // On GPUs: q/k/v and gate/up each as one matrix product, and LayerLab's kernels
    // (kernels/fused_ops.h) for RMSNorm with the residual add before it, rotary embedding, SiLU x
    // up and the tokens' log-probabilities (LibTorch's fused RMSNorm where gradients flow). Off,
    // or on the CPU: transformers' arithmetic step by step.
    bool fusedKernels = true;
    // With fusedKernels: LayerLab's RMSNorm kernels, the residual add and the next sub-layer's
    // norm as one; off, LibTorch's add and RMSNorm, to measure what that gains.
    bool fusedResidualNorm = true;
    // On GPUs: run a forward pass's operations on tiny stand-ins while the weights load, so that
    // the first batch does not pay for the libraries' set-up (model/gpu_warm_up.h).
    bool gpuWarmUp = true;
};

// The bytes a model of this configuration puts on each placement (see device_map.h).
PlacementCosts placementCosts(const ModelConfig& config, torch::ScalarType dtype, int64_t activationTokens);

struct LayerWeights {
    torch::Tensor inputNorm, q, k, v, o, qBias, kBias, vBias, oBias;
    torch::Tensor postAttentionNorm, gate, up, down, gateBias, upBias, downBias;
    torch::Tensor linearAttention, linearFfn; // Nemotron-NAS replace_with_linear sub-layers, [H, H]
    // Fused paths (layers on a GPU): q, k, v (gate, up) and their biases are row ranges of these.
    torch::Tensor qkv, qkvBias, gateUp, gateUpBias;
};

// Points of the residual stream inside layer l.
enum class ResidualPoint {
    BlockInput,     // before the attention sub-layer
    AfterAttention, // block input + attention output
    BlockOutput,    // after the FFN sub-layer (= block input of layer l+1)
};

// Observers first say what they want, then receive it; the model knows nothing of metrics. They
// read `hidden` and never change it in place: the pass may already hold its normalised form.
class ResidualObserver {
public:
    virtual ~ResidualObserver() = default;
    virtual bool wants(int64_t layer, ResidualPoint point) const = 0;
    virtual void observe(int64_t layer, ResidualPoint point, const torch::Tensor& hidden) = 0;
};

// Keeps every requested point (all of them by default): [B, T, H] tensors in the compute dtype.
class ResidualCapture : public ResidualObserver {
public:
    explicit ResidualCapture(int64_t numLayers);
    bool wants(int64_t, ResidualPoint) const override { return true; }
    void observe(int64_t layer, ResidualPoint point, const torch::Tensor& hidden) override;
    const torch::Tensor& at(int64_t layer, ResidualPoint point) const;

private:
    std::vector<torch::Tensor> points_; // 3 per layer
};

// What every layer of one forward pass shares: rotary tables, attention masks and, when
// generating, the cache of earlier tokens' keys and values.
struct SequenceTables {
    RotaryTables rotary;
    // Boolean [B or 1, 1, T, past + T] (true = may attend), keyed by sliding window (0: none).
    // Empty when plain causal attention among this pass's own tokens is all there is.
    std::vector<std::pair<int64_t, torch::Tensor>> masks;
};
struct SequenceContext {
    int64_t batch = 0;
    int64_t length = 0;    // tokens in this pass
    int64_t past = 0;      // cached tokens before them
    SequenceTables tables; // on the model's first device
    // Copies for the other devices of a split model.
    std::vector<std::pair<torch::Device, SequenceTables>> elsewhere;
    KvCache* cache = nullptr;
    // Fixed-shape decoding (decodeStep): [1] int64 on the device, the cache slot this pass's one
    // token per row is written to; every slot of the cache is attended to under tables.masks.
    torch::Tensor slot;
    const SequenceTables& on(torch::Device device) const;
};

// What fixed-shape decoding steps read and advance on the device (Model::decodeStep), so that a
// step recorded once as a CUDA graph can be replayed for every later token.
struct DecodeState {
    torch::Tensor ids;       // [B, 1] int64: the token each row feeds at this step
    torch::Tensor positions; // [B] int64: their rotary positions (the row's real tokens before them)
    torch::Tensor slot;      // [1] int64: the cache slot their keys and values go to
    torch::Tensor keyValid;  // [B, capacity] bool: slots holding the row's real tokens
    torch::Tensor columns;   // [capacity] int64: 0 .. capacity - 1, for sliding windows
    RotaryTables rotary;     // [capacity, headDim]: positions 0 .. capacity - 1
};

class Model {
public:
    // Loads and checks every tensor against config.json: missing tensors, wrong shapes and
    // non-float dtypes are errors naming the file. Reports progress per tensor; cancellable.
    static std::shared_ptr<Model> load(const std::filesystem::path& dir, const LoadOptions& options,
                                       const Progress& progress = {});

    const ModelConfig& config() const { return config_; }
    const std::filesystem::path& dir() const { return dir_; }
    // Where input ids go (the embedding's device); layers and the head may be elsewhere.
    torch::Device device() const { return map_.embedding; }
    const DeviceMap& deviceMap() const { return map_; }
    torch::Device layerDevice(int64_t layer) const { return map_.layers.at(static_cast<size_t>(layer)); }
    torch::Device outputDevice() const { return map_.head; } // where logits come out
    torch::ScalarType dtype() const { return options_.dtype; }
    // Whether the GPU's fused paths are on (LoadOptions::fusedKernels).
    bool fusedKernels() const { return options_.fusedKernels; }
    int64_t numLayers() const { return config_.numLayers; }
    // Tensors in the checkpoint that no role claimed (reported, never silently dropped).
    const std::vector<std::string>& unusedTensors() const { return unused_; }

    // attentionMask [B, T] (1/true: a real token, 0/false: padding), optional: padded positions
    // are never attended to and real tokens get positions counted from the row's first real
    // token, so left- or right-padded rows compute what they would alone. With a cache, the
    // tokens continue the cached ones (cache->length() earlier positions).
    SequenceContext context(const torch::Tensor& inputIds, const torch::Tensor& attentionMask = {},
                            KvCache* cache = nullptr) const;
    torch::Tensor embed(const torch::Tensor& inputIds) const;
    // Runs layers [from, to) on the residual stream h (moved to each layer's device as needed).
    torch::Tensor runLayers(torch::Tensor h, int64_t from, int64_t to, const LayerMask& mask,
                            const SequenceContext& ctx, ResidualObserver* observer = nullptr) const;
    // Sub-layers a Nemotron-NAS checkpoint does not have (no_op) as a mask: they never run,
    // whatever the mask of a forward pass says. Empty for other checkpoints.
    LayerMask absentUnits() const;

    // Fixed-shape decoding after the prompts went through forwardCached into `cache`:
    // realTokens[b] is row b's prompt tokens that are not padding. Throws Error for a model split
    // over several devices.
    DecodeState decodeState(const KvCache& cache, const std::vector<int64_t>& realTokens) const;
    // One token per row (state.ids) after those in the cache: writes its keys and values at
    // state.slot, attends to the whole cache under a mask of the valid slots, advances the state
    // and returns the next tokens' logits [B, V]. The same shapes and no waiting for the GPU at
    // every step: the step can be recorded as a CUDA graph. The caller keeps within the capacity.
    torch::Tensor decodeStep(DecodeState& state, const LayerMask& mask, KvCache& cache) const;

    // The sub-layers' contributions to the residual stream (what is added to h); zero for an
    // absent sub-layer, the linear map of the normalised input for a replace_with_linear one.
    torch::Tensor attentionUpdate(int64_t layer, const torch::Tensor& h, const SequenceContext& ctx) const;
    torch::Tensor ffnUpdate(int64_t layer, const torch::Tensor& h) const;
    // Final norm and LM head: [B, T, H] -> [B, T, V] in the compute dtype, on outputDevice().
    torch::Tensor logits(const torch::Tensor& h) const;

    // input_ids [B, T] (int64, on any device) -> logits [B, T, V].
    torch::Tensor forward(const torch::Tensor& inputIds, const LayerMask& mask,
                          ResidualObserver* observer = nullptr,
                          const torch::Tensor& attentionMask = {}) const;
    // One generation step: runs the new tokens after those in the cache, appends their keys and
    // values to it and returns their logits [B, T, V].
    torch::Tensor forwardCached(const torch::Tensor& inputIds, const LayerMask& mask, KvCache& cache,
                                const torch::Tensor& attentionMask = {}) const;

    // The input a sub-layer sees: its RMSNorm of h (attention / FFN); h itself for a block.
    torch::Tensor unitInput(Unit unit, int64_t layer, const torch::Tensor& h) const;

    // Adapters standing in for removed units (see adapter.h): part of the model's state, seen by
    // every forward pass. Replaces the current set (moved to the model's device and dtype; the
    // conversion is differentiable, so training can pass float32 leaves); an empty set removes
    // them. Throws Error when an adapter does not fit the model (the current set then stays).
    // Not to be called while another thread runs the model.
    void setAdapters(const AdapterSet& adapters);
    const AdapterSet& adapters() const { return adapters_; }

    ParameterCounts parameterCounts() const;
    uint64_t weightBytes() const;
    const LayerWeights& layer(int64_t l) const { return layers_.at(l); }
    const torch::Tensor& embedding() const { return embedding_; }
    const torch::Tensor& lmHead() const { return lmHead_; }
    const torch::Tensor& finalNorm() const { return finalNorm_; }

private:
    Model() = default;
    torch::Tensor rmsNorm(const torch::Tensor& x, const torch::Tensor& weight) const;
    // Whether LayerLab's norm kernels take h with this norm weight (and update, for the add).
    bool normKernelFits(const torch::Tensor& h, const torch::Tensor& weight,
                        const torch::Tensor* update = nullptr) const;
    // The sub-layers on their normalised input x (what attentionUpdate / ffnUpdate compute after
    // the norm), for a sub-layer that is not absent.
    torch::Tensor attentionOfNormed(int64_t layer, const torch::Tensor& x, const SequenceContext& ctx) const;
    torch::Tensor ffnOfNormed(int64_t layer, const torch::Tensor& x) const;
    // {h + update, rmsNorm(h + update, *norm)}, the second where one fused kernel gives both (in
    // update's memory: a sub-layer's fresh output, not needed after the add); undefined otherwise
    // (no norm wanted, the CPU, autograd).
    std::pair<torch::Tensor, torch::Tensor> addThenNorm(const torch::Tensor& h, torch::Tensor update,
                                                        const torch::Tensor* norm) const;
    bool fused(const torch::Tensor& x) const { return options_.fusedKernels && x.is_cuda(); }
    bool hasLora(int64_t layer, std::initializer_list<Projection> projections) const;
    void fuseBiases(); // the fused matrices' biases, after loading

    std::filesystem::path dir_;
    ModelConfig config_;
    LoadOptions options_;
    DeviceMap map_;
    torch::Tensor embedding_, finalNorm_, lmHead_;
    std::vector<LayerWeights> layers_;
    std::vector<std::string> unused_;
    AdapterSet adapters_;
    std::vector<std::array<const Adapter*, 3>> adapterAt_;                 // [layer][unit]
    std::vector<std::array<const LoraAdapter*, kProjectionCount>> loraAt_; // [layer][projection]
    torch::Tensor adapterUpdate(const Adapter& a, const torch::Tensor& h) const;
    // x W^T + b of one projection of layer l, with its LoRA correction when there is one.
    torch::Tensor project(int64_t l, Projection p, const torch::Tensor& x, const torch::Tensor& w,
                          const torch::Tensor& b) const;
};

// Mean next-token cross-entropy over all predicted positions (as transformers' labels=input_ids),
// computed in float32. Also gives the sum and count so callers can pool batches exactly.
struct LossSum {
    double sum = 0;
    int64_t tokens = 0;
    double mean() const { return tokens ? sum / static_cast<double>(tokens) : 0.0; }
    LossSum& operator+=(const LossSum& o) {
        sum += o.sum;
        tokens += o.tokens;
        return *this;
    }
};
// targetMask [B, T] bool (optional): true where the token at that position is scored; position 0
// never is. Context-only tokens of strided windows are left out this way. chunkRows: positions
// converted to float32 at a time (0: on a GPU LayerLab's kernels where built (kernels/fused_ops.h:
// no float32 copy at all, log-probabilities in float32, a fixed summation order), else 4096, so
// that the float32 copy and log-softmax of [B, T, V] logits are never whole; on the CPU all at
// once, the reference summation).
LossSum nextTokenLoss(const torch::Tensor& logits, const torch::Tensor& inputIds,
                      const torch::Tensor& targetMask = {}, int64_t chunkRows = 0);

} // namespace layerlab
