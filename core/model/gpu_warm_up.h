#pragma once
// A GPU process pays once for each library and kernel module it touches first (cuBLAS and cuDNN
// set-up, lazy loading of LibTorch's kernels): about half a second, measured in the first batch of
// a pass. On a machine's first use, cuDNN's attention also compiles its kernel (0.65 s on an H200;
// bench/results/side_by_side_h200.md, run K). Model::load runs the forward pass's operations on
// small stand-in tensors beside the threads that read the weights, so that the first batch finds
// them loaded and compiled.

#include "model/model_config.h"

#include <torch/torch.h>

namespace layerlab {

// The operations of a forward pass and its loss on tiny tensors of this configuration's head
// sizes, on `device` (a GPU) in `dtype`. Errors are swallowed: nothing depends on it but speed.
// Returns whether it ran through (false on the CPU, in a build without CUDA, or after an error).
bool warmUpGpu(const ModelConfig& config, torch::Device device, torch::ScalarType dtype);

} // namespace layerlab
