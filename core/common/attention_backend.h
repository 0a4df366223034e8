#pragma once
// Which kernel LibTorch's scaled_dot_product_attention takes on a GPU. On Hopper it prefers
// cuDNN's, which builds a plan for every new shape (69 to 78 ms each on an H200); its own
// FlashAttention has no per-shape cost but runs 1.5% to 3.4% slower once warm (measured with
// bench_eval --sdpa, bench/results/side_by_side_h200.md). So a call over batches of many lengths
// (multiple choice, step-by-step generation) is faster without cuDNN, and one that repeats a few
// shapes (perplexity, importance) with it.

#include <cstdint>
#include <string>

namespace layerlab {

enum class AttentionKernel {
    LibTorchChoice, // cuDNN where it applies
    FlashAttention, // cuDNN's attention off: FlashAttention, or under a mask the memory-efficient kernel
};

// LAYERLAB_ATTENTION=flash turns cuDNN's attention off for the whole process, =cudnn leaves
// LibTorch's choice everywhere (AttentionKernelScope does nothing); unset, empty or "auto": per
// call, as attentionKernelFor says. Called once at the start of each program; returns a warning
// to show when the variable holds anything else (the per-call choice then stays), or "". Before
// LibTorch 2.3 and without CUDA in effect there is nothing to choose.
[[nodiscard]] std::string chooseAttentionBackend();

// The kernel for one call that feeds `tokens` tokens through attention in batches of `shapes`
// distinct shapes. cuDNN pays for a plan when a shape carries enough tokens for 1.5% to 3.4% of its
// time to outweigh 70 ms: about 128k tokens at the 42k tokens/s of a 7B model on an H200.
// It depends only on the call's own inputs (all of them: a task's size and the batch size decide
// its shapes), so the same call always takes the same kernel and gives the same numbers.
AttentionKernel attentionKernelFor(int64_t tokens, int64_t shapes);

// Holds the choice until the scope ends. The flag it sets is process-wide, which is safe because
// LayerLab runs one GPU job at a time (the workbench's job queue, the CLI's commands).
class AttentionKernelScope {
public:
    AttentionKernelScope(AttentionKernel kernel, bool onGpu);
    ~AttentionKernelScope();
    AttentionKernelScope(const AttentionKernelScope&) = delete;
    AttentionKernelScope& operator=(const AttentionKernelScope&) = delete;

private:
    bool restore_ = false;
    bool previous_ = true;
};

} // namespace layerlab
