#include "common/gpu_allocator.h"

#include <cstdlib>

#ifdef LAYERLAB_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace layerlab {

void useExpandableGpuSegments() {
    setenv("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True", /*overwrite=*/0);
}

void releaseCachedGpuMemory() {
#ifdef LAYERLAB_WITH_CUDA
    c10::cuda::CUDACachingAllocator::emptyCache();
#endif
}

} // namespace layerlab
