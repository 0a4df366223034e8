// Host memory as the programs set it up (configureHostMemory, called before main by
// test_helpers.cpp): large tensors asked to lie on transparent huge pages, read back from the
// kernel's own account of the process's mappings.
#include "common/host_allocator.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdint>
#include <cstdio>
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

struct Mapping {
    bool found = false;
    std::string flags;       // VmFlags: "hg" once huge pages were asked for
    int64_t anonHugeKiB = 0; // AnonHugePages: what the kernel gave
};

// /proc/self/smaps: the mapping that holds `address`.
Mapping mappingOf(const void* address) {
    const auto at = reinterpret_cast<uintptr_t>(address);
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    Mapping m;
    bool inside = false;
    while (std::getline(smaps, line)) {
        uintptr_t start = 0, end = 0;
        char dash = 0;
        std::istringstream head(line);
        if (head >> std::hex >> start >> dash >> end && dash == '-' && line.find(':') > line.find(' ')) {
            if (m.found) break; // past the mapping
            inside = start <= at && at < end;
            m.found = inside;
            continue;
        }
        if (!inside) continue;
        if (line.rfind("AnonHugePages:", 0) == 0) m.anonHugeKiB = std::stoll(line.substr(14));
        if (line.rfind("VmFlags:", 0) == 0) m.flags = line.substr(8) + " ";
    }
    return m;
}

} // namespace

TEST(HostAllocator, LargeTensorsLieOnHugePages) {
    const auto setting = firstLineOf("/sys/kernel/mm/transparent_hugepage/enabled");
    if (setting.empty() || setting.find("[never]") != std::string::npos)
        GTEST_SKIP() << "this kernel gives no transparent huge pages";
    if (std::getenv("LAYERLAB_DEFAULT_MALLOC")) GTEST_SKIP() << "LAYERLAB_DEFAULT_MALLOC is set";
    // 64 MiB, written: above glibc's largest mmap threshold, so mapped afresh.
    const auto large = torch::ones({16 * 1024 * 1024}, torch::kFloat32);
    const auto m = mappingOf(large.data_ptr());
    ASSERT_TRUE(m.found) << "no mapping holds the tensor in /proc/self/smaps";
    // Asked for (deterministic), or given without asking; whether the kernel had a free huge page
    // at that moment is its own affair, so what it gave is only reported.
    EXPECT_TRUE(m.flags.find(" hg ") != std::string::npos || setting.find("[always]") != std::string::npos)
        << "VmFlags:" << m.flags << " kernel setting: " << setting;
    std::printf("  AnonHugePages of the 64 MiB tensor: %lld KiB\n", static_cast<long long>(m.anonHugeKiB));
}
