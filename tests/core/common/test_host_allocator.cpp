// Host memory as the programs set it up (configureHostMemory, called before main by
// test_helpers.cpp): large tensors on transparent huge pages, read back from the kernel's own
// account of the process's mappings.
#include "common/host_allocator.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace {

std::string firstLineOf(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    return line;
}

// /proc/self/smaps: the AnonHugePages of the mapping that holds `address`, in KiB (-1: none).
int64_t anonHugePagesKiB(const void* address) {
    const auto at = reinterpret_cast<uintptr_t>(address);
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    bool inside = false;
    while (std::getline(smaps, line)) {
        uintptr_t start = 0, end = 0;
        char dash = 0;
        std::istringstream head(line);
        if (head >> std::hex >> start >> dash >> end && dash == '-' && line.find(':') > line.find(' ')) {
            inside = start <= at && at < end;
            continue;
        }
        if (inside && line.rfind("AnonHugePages:", 0) == 0) return std::stoll(line.substr(14));
    }
    return -1;
}

} // namespace

TEST(HostAllocator, LargeTensorsLieOnHugePages) {
    const auto setting = firstLineOf("/sys/kernel/mm/transparent_hugepage/enabled");
    if (setting.empty() || setting.find("[never]") != std::string::npos)
        GTEST_SKIP() << "this kernel gives no transparent huge pages";
    if (std::getenv("LAYERLAB_DEFAULT_MALLOC")) GTEST_SKIP() << "LAYERLAB_DEFAULT_MALLOC is set";
    // 64 MiB, written: above glibc's largest mmap threshold, so mapped afresh.
    const auto large = torch::ones({16 * 1024 * 1024}, torch::kFloat32);
    const auto huge = anonHugePagesKiB(large.data_ptr());
    ASSERT_GE(huge, 0) << "no mapping holds the tensor in /proc/self/smaps";
    EXPECT_GE(huge, 2048) << "kernel setting: " << setting;
}
