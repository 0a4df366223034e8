#include "common/gpu_allocator.h"
#include "common/cuda_build.h"

#include <cstdlib>
#include <exception>

#ifdef LAYERLAB_WITH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <torch/version.h>
#endif

namespace layerlab {

void useExpandableGpuSegments() {
    setenv("PYTORCH_CUDA_ALLOC_CONF", "expandable_segments:True", /*overwrite=*/0);
}

void releaseCachedGpuMemory() {
#ifdef LAYERLAB_WITH_CUDA
#if TORCH_VERSION_MAJOR >= 2
    at::cuda::clearCublasWorkspaces();
#endif
    c10::cuda::CUDACachingAllocator::emptyCache();
#endif
}

GpuMemoryPeaks gpuMemoryPeaks(int device) {
    GpuMemoryPeaks peaks;
#ifdef LAYERLAB_WITH_CUDA
    if (device < 0 || device >= static_cast<int>(c10::cuda::device_count())) return peaks;
    try {
        // Index 0 of each statistic is the aggregate over the small and large pools.
        const auto stats =
            c10::cuda::CUDACachingAllocator::getDeviceStats(static_cast<c10::DeviceIndex>(device));
        peaks.allocated = stats.allocated_bytes[0].peak;
        peaks.reserved = stats.reserved_bytes[0].peak;
    } catch (const std::exception&) { // the allocator has not started on that GPU: nothing held
    }
#else
    (void)device;
#endif
    return peaks;
}

void resetGpuMemoryPeaks(int device) {
#ifdef LAYERLAB_WITH_CUDA
    if (device < 0 || device >= static_cast<int>(c10::cuda::device_count())) return;
    try {
        c10::cuda::CUDACachingAllocator::resetPeakStats(static_cast<c10::DeviceIndex>(device));
    } catch (const std::exception&) { // the allocator has not started on that GPU
    }
#else
    (void)device;
#endif
}

} // namespace layerlab
