#pragma once
// Adapters: cheap stand-ins for removed units. An adapter adds to the residual stream what the
// removed unit would have added, estimated as an affine map of the input the unit saw:
//   update = (x down) up + bias        (a bias alone when down/up are empty)
// with x the normalised residual for attention / FFN (the sub-layer's own RMSNorm) and the block
// input for a whole block. An adapter acts only while its unit is removed by the layer mask.
//
// LoRA adapters are low-rank corrections of kept layers' projection matrices: for a row vector x
// the projection x W^T + b becomes x W^T + b + (x down) up, with down [in, r] and up [r, out]
// (any LoRA scale already folded into up). They act while their sub-layer is on.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "model/layer_mask.h"
#include "model/model_config.h"

namespace layerlab {

struct Adapter {
    Unit unit = Unit::Block;
    int64_t layer = 0;
    torch::Tensor bias; // [H]
    torch::Tensor down; // [H, r] or undefined (bias only)
    torch::Tensor up;   // [r, H] or undefined
    int64_t rank() const { return down.defined() ? down.size(1) : 0; }
};

enum class Projection { Q, K, V, O, Gate, Up, Down };
constexpr int kProjectionCount = 7;
const char* projectionName(Projection p); // "q", "k", "v", "o", "gate", "up", "down"
// The inverse of projectionName; nullopt for any other word.
std::optional<Projection> parseProjection(const std::string& name);
// Names separated by commas ("q,v", "gate,up,down"), in their order; Error naming an unknown
// word (an empty one too) and listing the valid names.
std::vector<Projection> parseProjections(const std::string& list);
Unit projectionUnit(Projection p); // Attention for q/k/v/o, Ffn for the others
// [out, in] of the projection's weight in a model of this configuration.
std::pair<int64_t, int64_t> projectionShape(const ModelConfig& config, Projection p);

struct LoraAdapter {
    int64_t layer = 0;
    Projection projection = Projection::Q;
    torch::Tensor down; // [in, r]
    torch::Tensor up;   // [r, out]
    int64_t rank() const { return down.defined() ? down.size(1) : 0; }
};

// Everything that changes what a model computes besides its weights and the layer mask.
struct AdapterSet {
    std::vector<Adapter> units;    // stand-ins for removed units
    std::vector<LoraAdapter> lora; // corrections of kept projections
    bool empty() const { return units.empty() && lora.empty(); }
};

// Writes adapters as safetensors ("attn.3.bias", "attn.3.down", "attn.3.up", "lora.3.q.down",
// ...) in float32, atomically; metadata says what they are.
void saveAdapters(const std::filesystem::path& path, const AdapterSet& adapters);
// Reads them back, checked against the model's configuration: an unknown name, a wrong shape or
// a layer out of range is an Error naming the file.
AdapterSet loadAdapters(const std::filesystem::path& path, const ModelConfig& config);

} // namespace layerlab
