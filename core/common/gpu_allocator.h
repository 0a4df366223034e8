#pragma once
// LibTorch's CUDA caching allocator, as the programs set it up. Batches of changing shapes
// (multiple-choice items of every length) otherwise make it reserve a new segment for each new
// size on the first pass; with expandable segments it grows one segment in place instead, and
// fragments less. Called once at the start of each program, before CUDA is used.

#include <cstdint>

namespace layerlab {

// Sets PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True unless the variable is already set (the
// user's choice stands). A no-op for CPU builds in effect: nothing reads it.
void useExpandableGpuSegments();

// Gives the GPU memory LibTorch's allocator holds but no tensor uses back to the driver, on every
// GPU, with cuBLAS's workspaces for every stream (LibTorch 2; 32 MiB each on Hopper with
// LibTorch 2.11; the next cuBLAS call on a stream makes its own again). Blocks cached for one
// stream serve neither another stream nor a CUDA graph's own pool, and the driver needs memory
// for new streams and library handles. Only where no other thread is using the GPU, and no CUDA
// graph is recorded (it would keep a freed workspace's address). A no-op without CUDA.
void releaseCachedGpuMemory();

// The allocator's peaks on one GPU since the process started, in bytes: what tensors held and
// what it took from the driver. Beside nvidia-smi's figure (which adds the CUDA context and the
// libraries' own memory) it tells where a program's peak comes from. Zeros without CUDA.
struct GpuMemoryPeaks {
    int64_t allocated = 0;
    int64_t reserved = 0;
};
GpuMemoryPeaks gpuMemoryPeaks(int device = 0);

// Starts the peaks again from what is held now. A no-op without CUDA or before the first allocation.
void resetGpuMemoryPeaks(int device = 0);

} // namespace layerlab
