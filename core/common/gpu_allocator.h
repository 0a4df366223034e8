#pragma once
// LibTorch's CUDA caching allocator, as the programs set it up. Batches of changing shapes
// (multiple-choice items of every length) otherwise make it reserve a new segment for each new
// size on the first pass; with expandable segments it grows one segment in place instead, and
// fragments less. Called once at the start of each program, before CUDA is used.

namespace layerlab {

// Sets PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True unless the variable is already set (the
// user's choice stands). A no-op for CPU builds in effect: nothing reads it.
void useExpandableGpuSegments();

// Gives the GPU memory LibTorch's allocator holds but no tensor uses back to the driver, which
// needs some for new streams and library handles (a CUDA graph's recording stream, say) and cannot
// take it from the cache. A no-op without CUDA.
void releaseCachedGpuMemory();

} // namespace layerlab
