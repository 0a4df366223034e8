// Opening a model folder for the workbench on one device and spread over several placements.

#include "common/error.h"
#include "eval/evaluation.h"
#include "model/device_map.h"
#include "model/model.h"
#include "ui_test_helpers.h"
#include "workspace/model_loading.h"
#include "workspace/model_summary.h"

#include <gtest/gtest.h>

#include <algorithm>

using namespace layerlab;
using namespace layerlab::ui;

TEST(ModelLoading, ADeviceListSpreadsTheLayersAndComputesTheSame) {
    const auto dir = test::demoDir().toStdString();
    ASSERT_FALSE(dir.empty());
    const auto one = loadModelFolder(dir, "cpu", "f32", {});
    const auto split = loadModelFolder(dir, "cpu,cpu", "f32", {});
    EXPECT_EQ(one.summary.device, "cpu");
    EXPECT_EQ(one.summary.placement, "cpu");
    // The device list is kept as asked for (sessions reopen with it); the placement is for people.
    EXPECT_EQ(split.summary.device, "cpu,cpu");
    EXPECT_EQ(split.summary.placement.rfind("cpu layers 0-", 0), 0u) << split.summary.placement;
    EXPECT_EQ(summarize(*split.model).device, "cpu,cpu");
    const auto again = loadModelFolder(dir, split.summary.device, "f32", {});
    EXPECT_EQ(again.summary.placement, split.summary.placement);
    EXPECT_TRUE(split.model->deviceMap().split());
    const auto ids = torch::arange(1, 33, torch::kInt64).view({1, 32});
    torch::NoGradGuard noGrad;
    const LayerMask mask(split.model->numLayers());
    EXPECT_TRUE(torch::equal(one.model->forward(ids, mask), split.model->forward(ids, mask)));
    EXPECT_THROW(loadModelFolder(dir, "cpu,", "f32", {}), Error);
}

TEST(ModelLoading, EveryDeviceTheMenuOffersCanBeLoadedOn) {
    const auto devices = computeDevices();
    ASSERT_FALSE(devices.empty());
    EXPECT_EQ(devices.front().name, "cpu");
    for (const auto& d : devices)
        EXPECT_NO_THROW(parseDeviceList(d.name)) << d.name;
    // "auto" is offered only where there are two GPUs or more to split over.
    const auto gpus = torch::cuda::is_available() ? torch::cuda::device_count() : 0;
    const bool autoEntry =
        std::any_of(devices.begin(), devices.end(), [](const auto& d) { return d.name == "auto"; });
    EXPECT_EQ(autoEntry, gpus > 1);
}

TEST(ModelLoading, AFirstStartPicksTheFirstGpuInBf16) {
    EXPECT_EQ(defaultComputeChoice({{"cpu", "CPU"}}).device, "cpu");
    EXPECT_EQ(defaultComputeChoice({{"cpu", "CPU"}}).dtype, "f32");
    const std::vector<ComputeDevice> gpus = {
        {"cpu", "CPU"}, {"cuda:0", "GPU 0"}, {"cuda:1", "GPU 1"}, {"auto", "All 2 GPUs"}};
    EXPECT_EQ(defaultComputeChoice(gpus).device, "cuda:0");
    EXPECT_EQ(defaultComputeChoice(gpus).dtype, "bf16");
}
