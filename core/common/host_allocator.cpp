#include "common/host_allocator.h"

#include <cstdlib>

#include <torch/version.h>

#if defined(__GLIBC__)
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>
#include <malloc.h>
#include <sys/mman.h>
#endif

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
// LibTorch's own allocator does it under THP_MEM_ALLOC_ENABLE (c10/core/impl/alloc_cpu.cpp).
#define LAYERLAB_TORCH_HUGE_PAGES 1
#endif

namespace layerlab {

#if defined(__GLIBC__) && !defined(LAYERLAB_TORCH_HUGE_PAGES)
namespace {

constexpr size_t kHugePage = 2 * 1024 * 1024;
constexpr size_t kMappedAfresh = 32 * 1024 * 1024; // glibc's largest mmap threshold
constexpr size_t kAlignment = 64;                  // c10's gAlignment: what vector kernels expect

void freeBlock(void* data) {
    std::free(data);
}

// LibTorch 1.x's CPU allocator with the large blocks on huge pages; every block is freed by free().
class HugePageHostAllocator final : public c10::Allocator {
public:
    c10::DataPtr allocate(size_t bytes) const override {
        const c10::Device cpu(c10::DeviceType::CPU);
        if (bytes == 0) return {nullptr, nullptr, &freeBlock, cpu};
        const bool large = bytes >= kMappedAfresh;
        void* data = nullptr;
        // An out-of-memory error with c10's wording off Linux (out_of_memory.cpp recognises both).
        TORCH_CHECK_WITH(OutOfMemoryError,
                         posix_memalign(&data, large ? kHugePage : kAlignment, bytes) == 0 && data,
                         "DefaultCPUAllocator: not enough memory: you tried to allocate ", bytes, " bytes.");
        // Advice only: where the kernel has no huge pages, the block is as before.
        if (large) madvise(data, bytes / kHugePage * kHugePage, MADV_HUGEPAGE);
        return {data, data, &freeBlock, cpu};
    }
    c10::DeleterFnPtr raw_deleter() const override { return &freeBlock; }
};

} // namespace
#endif

void configureHostMemory() {
#if defined(__GLIBC__)
    if (std::getenv("LAYERLAB_DEFAULT_MALLOC")) return; // to compare, or where memory is tight
    // mallopt(3): M_MMAP_THRESHOLD may be at most 4 MiB x sizeof(long) on 64-bit systems; setting it
    // also stops glibc from moving it on its own.
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
    // One arena: a worker thread's own arena lives in 64 MiB heaps that blocks of this size would
    // keep creating and deleting (the workbench's quick evaluation ran 2.5 times slower with the
    // thresholds above and per-thread arenas).
    mallopt(M_ARENA_MAX, 1);
#ifdef LAYERLAB_TORCH_HUGE_PAGES
    setenv("THP_MEM_ALLOC_ENABLE", "1", /*overwrite=*/0);
#else
    // Never destroyed: LibTorch's own statics may free blocks through it at exit.
    static auto* allocator = new HugePageHostAllocator;
    c10::SetCPUAllocator(allocator, /*priority=*/1);
#endif
#endif
}

} // namespace layerlab
