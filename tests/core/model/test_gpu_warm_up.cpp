// warmUpGpu runs a forward pass's operations on stand-ins while the weights are read (the demo
// model has grouped-query attention, as most real ones do). On a GPU it must run through, errors
// being swallowed only to keep loading going; on the CPU it does nothing. It takes FlashAttention
// for its short calls through the process-wide attention switch, so it must hand that switch back
// as it found it, whichever way it was set.

#include "model/gpu_warm_up.h"
#include "test_helpers.h"

#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/version.h>

using namespace layerlab;

TEST(GpuWarmUp, RunsThroughOnAGpuAndLeavesTheAttentionSwitchAsItFoundIt) {
    const auto config = ModelConfig::load(test::demoDir() / "config.json");
    ASSERT_LT(config.numKvHeads, config.numHeads);
    const auto device = test::testDevice();
    const auto dtype = device.is_cuda() ? torch::kBFloat16 : torch::kFloat32;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
    auto& context = at::globalContext();
    const bool before = context.userEnabledCuDNNSDP();
    for (const bool cudnn : {true, false}) {
        context.setSDPUseCuDNN(cudnn);
        EXPECT_EQ(warmUpGpu(config, device, dtype), device.is_cuda());
        EXPECT_EQ(context.userEnabledCuDNNSDP(), cudnn) << "cuDNN's attention was " << (cudnn ? "on" : "off");
    }
    context.setSDPUseCuDNN(before);
#else
    EXPECT_EQ(warmUpGpu(config, device, dtype), device.is_cuda());
#endif
}
