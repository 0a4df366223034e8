#include "common/attention_backend.h"

#include <ATen/Context.h>
#include <gtest/gtest.h>
#include <torch/version.h>

#include <cstdlib>
#include <optional>
#include <string>

namespace layerlab {
namespace {

TEST(AttentionKernel, ManyShapesOfFewTokensTakeFlashAttention) {
    // The demo task's 400 items at batch 16: about 100 batches of a dozen lengths.
    EXPECT_EQ(attentionKernelFor(100 * 16 * 120, 12), AttentionKernel::FlashAttention);
    // 64 x 2048 tokens in batches of 8: one shape carrying 131,072 tokens pays for cuDNN's plan.
    EXPECT_EQ(attentionKernelFor(64 * 2048, 1), AttentionKernel::LibTorchChoice);
    // Just under and at the break-even of 128k tokens per shape.
    EXPECT_EQ(attentionKernelFor(2 * 131071, 2), AttentionKernel::FlashAttention);
    EXPECT_EQ(attentionKernelFor(2 * 131072, 2), AttentionKernel::LibTorchChoice);
    EXPECT_EQ(attentionKernelFor(0, 0), AttentionKernel::LibTorchChoice);
}

// Sets LAYERLAB_ATTENTION for one test and puts the old value back.
class AttentionSetting {
public:
    explicit AttentionSetting(const char* value) {
        if (const char* old = std::getenv("LAYERLAB_ATTENTION")) old_ = old;
        if (value)
            setenv("LAYERLAB_ATTENTION", value, 1);
        else
            unsetenv("LAYERLAB_ATTENTION");
    }
    ~AttentionSetting() {
        if (old_)
            setenv("LAYERLAB_ATTENTION", old_->c_str(), 1);
        else
            unsetenv("LAYERLAB_ATTENTION");
    }

private:
    std::optional<std::string> old_;
};

TEST(AttentionKernel, AnUnknownSettingIsNamedInAWarning) {
    {
        const AttentionSetting setting("fastest");
        const auto warning = chooseAttentionBackend();
        EXPECT_NE(warning.find("'fastest'"), std::string::npos) << warning;
        EXPECT_NE(warning.find("auto"), std::string::npos) << warning;
    }
    for (const char* known : {"", "auto", "cudnn"}) {
        const AttentionSetting setting(known);
        EXPECT_EQ(chooseAttentionBackend(), "") << known;
    }
    const AttentionSetting unset(nullptr);
    EXPECT_EQ(chooseAttentionBackend(), "");
}

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
TEST(AttentionKernel, ScopeTurnsCudnnOffOnGpusAndPutsItBack) {
    const AttentionSetting setting(nullptr);
    auto& context = at::globalContext();
    const bool before = context.userEnabledCuDNNSDP();
    context.setSDPUseCuDNN(true);
    {
        const AttentionKernelScope scope(AttentionKernel::FlashAttention, true);
        EXPECT_FALSE(context.userEnabledCuDNNSDP());
    }
    EXPECT_TRUE(context.userEnabledCuDNNSDP());
    {
        const AttentionKernelScope cpu(AttentionKernel::FlashAttention, false);
        EXPECT_TRUE(context.userEnabledCuDNNSDP());
        const AttentionKernelScope repeated(AttentionKernel::LibTorchChoice, true);
        EXPECT_TRUE(context.userEnabledCuDNNSDP());
    }
    context.setSDPUseCuDNN(before);
}

TEST(AttentionKernel, AnExplicitSettingWinsOverThePerCallChoice) {
    auto& context = at::globalContext();
    const bool before = context.userEnabledCuDNNSDP();
    context.setSDPUseCuDNN(true);
    {
        const AttentionSetting setting("cudnn");
        const AttentionKernelScope scope(AttentionKernel::FlashAttention, true);
        EXPECT_TRUE(context.userEnabledCuDNNSDP());
    }
    {
        const AttentionSetting setting("flash");
        EXPECT_EQ(chooseAttentionBackend(), "");
        EXPECT_FALSE(context.userEnabledCuDNNSDP());
        {
            const AttentionKernelScope scope(AttentionKernel::FlashAttention, true);
            EXPECT_FALSE(context.userEnabledCuDNNSDP());
        }
        EXPECT_FALSE(context.userEnabledCuDNNSDP()); // the process-wide setting stays
    }
    context.setSDPUseCuDNN(before);
}
#endif

} // namespace
} // namespace layerlab
