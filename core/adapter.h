#pragma once
// Adapters: cheap stand-ins for removed units. An adapter adds to the residual stream what the
// removed unit would have added, estimated as an affine map of the input the unit saw:
//   update = (x down) up + bias        (a bias alone when down/up are empty)
// with x the normalised residual for attention / FFN (the sub-layer's own RMSNorm) and the block
// input for a whole block. An adapter acts only while its unit is removed by the layer mask.

#include <cstdint>
#include <filesystem>
#include <vector>

#include <torch/torch.h>

#include "layer_mask.h"

namespace layerlab {

struct Adapter {
    Unit unit = Unit::Block;
    int64_t layer = 0;
    torch::Tensor bias; // [H]
    torch::Tensor down; // [H, r] or undefined (bias only)
    torch::Tensor up;   // [r, H] or undefined
    int64_t rank() const { return down.defined() ? down.size(1) : 0; }
};

using AdapterSet = std::vector<Adapter>;

// Writes adapters as safetensors ("attn.3.bias", "attn.3.down", "attn.3.up", ...) in float32,
// atomically; metadata says what they are.
void saveAdapters(const std::filesystem::path& path, const AdapterSet& adapters);
// Reads them back, checked against the model's shape (numLayers, hiddenSize): an unknown name,
// a wrong shape or a layer out of range is an Error naming the file.
AdapterSet loadAdapters(const std::filesystem::path& path, int64_t numLayers, int64_t hiddenSize);

} // namespace layerlab
