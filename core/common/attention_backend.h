#pragma once
// Which kernel LibTorch's scaled_dot_product_attention takes on a GPU. On Hopper it prefers
// cuDNN's, which builds a plan for every new shape (about 70 ms each on an H200); its own
// FlashAttention has no per-shape cost but runs 1.5% to 3% slower once warm (measured with
// bench_eval --sdpa, bench/results/side_by_side_h200.md). A first pass over batches of many
// lengths (multiple choice) is 5% to 9% faster with FlashAttention; repeated passes over the same
// shapes are faster with cuDNN, which stays the default.

namespace layerlab {

// LAYERLAB_ATTENTION=flash turns cuDNN's attention off for the process (FlashAttention and
// LibTorch's other kernels remain); unset or "cudnn": LibTorch's choice. Called once at the start
// of each program. A no-op before LibTorch 2.3 and without CUDA in effect.
void chooseAttentionBackend();

} // namespace layerlab
