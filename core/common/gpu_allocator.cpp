#include "common/gpu_allocator.h"

#include <cstdlib>

namespace layerlab {

void useExpandableGpuSegments() {
    setenv("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True", /*overwrite=*/0);
}

} // namespace layerlab
