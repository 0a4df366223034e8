#include "common/error.h"
#include "model/device.h"

#include <gtest/gtest.h>

using namespace layerlab;

TEST(Device, ParsesTheGpuMemoryQuery) {
    const auto gpus = parseGpuMemoryQuery("0, NVIDIA H100 80GB HBM3, 62684, 81559\n"
                                          "1, NVIDIA H100 80GB HBM3, 1024, 81559\r\n"
                                          "garbage line\n");
    ASSERT_EQ(gpus.size(), 2u);
    EXPECT_EQ(gpus[0].name, "cuda:0");
    EXPECT_EQ(gpus[0].freeBytes, 62684ll * 1048576);
    EXPECT_EQ(gpus[1].totalBytes, 81559ll * 1048576);
    // 62684 / 1024 = 61.2
    EXPECT_EQ(gpus[0].description, "GPU 0: NVIDIA H100 80GB HBM3, 61.2 GiB free");
    EXPECT_TRUE(parseGpuMemoryQuery("").empty());
}

TEST(Device, NamesAndTheCpuAlwaysThere) {
    EXPECT_EQ(parseDevice("cpu"), torch::Device(torch::kCPU));
    EXPECT_THROW(parseDevice("tpu"), Error);
    EXPECT_EQ(parseDtype("bf16"), torch::kBFloat16);
    EXPECT_EQ(availableDevices().at(0).name, "cpu");
}
