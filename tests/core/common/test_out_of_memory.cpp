// Running out of memory in the middle of long work: an Error that says what ran out, and a model
// that computes exactly what it did before once memory is there again. On the CPU a wrapping
// allocator fails every host allocation above a cap (as LibTorch's own allocator fails when the
// system has no memory left); with LAYERLAB_TEST_DEVICE=cuda the GPU is really filled up.
#include "common/error.h"
#include "common/gpu_allocator.h"
#include "common/out_of_memory.h"
#include "eval/evaluation.h"
#include "importance/importance.h"
#include "recovery/adapter_fit.h"
#include "recovery/adapter_training.h"
#include "test_helpers.h"

#include <c10/core/CPUAllocator.h>
#include <gtest/gtest.h>
#include <torch/version.h>

using namespace layerlab;
using test::demoDir;
using test::demoWindows;

namespace {

std::string messageOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const std::exception& e) {
        return e.what();
    }
    return "(no exception)";
}

TEST(OutOfMemory, RecognisesTheAllocatorsErrorsOnly) {
    try {
        TORCH_CHECK_WITH(OutOfMemoryError, false,
                         "CUDA out of memory. Tried to allocate 2.00 GiB\nmore lines");
    } catch (const std::exception& e) {
        EXPECT_TRUE(isOutOfMemory(e));
        const auto m = messageOf([&] { rethrowIfOutOfMemory(e, "evaluating the loss"); });
        EXPECT_EQ(
            m.rfind(
                "out of memory while evaluating the loss (CUDA out of memory. Tried to allocate 2.00 GiB)",
                0),
            0u)
            << m;
        EXPECT_EQ(m.find("more lines"), std::string::npos);
    }
    try {
        TORCH_CHECK(false, "DefaultCPUAllocator: not enough memory: you tried to allocate 123 bytes.");
    } catch (const std::exception& e) {
        EXPECT_TRUE(isOutOfMemory(e)); // LayerLab's CPU allocator; LibTorch's off Linux
    }
    try {
        TORCH_CHECK(false, "DefaultCPUAllocator: can't allocate memory: you tried to allocate 123 bytes. "
                           "Error code 12 (Cannot allocate memory)");
    } catch (const std::exception& e) {
        EXPECT_TRUE(isOutOfMemory(e)); // LibTorch's CPU allocator on Linux
    }
    try {
        TORCH_CHECK(false, "shapes cannot be multiplied");
    } catch (const std::exception& e) {
        EXPECT_FALSE(isOutOfMemory(e));
        EXPECT_NO_THROW(rethrowIfOutOfMemory(e, "anything"));
    }
    EXPECT_FALSE(isOutOfMemory(Error("out of memory"))); // our own errors already say what happened
    EXPECT_TRUE(isOutOfMemory(std::bad_alloc()));
}

// Fails every allocation above `limit` bytes with LibTorch's out-of-memory error.
class CappedCpuAllocator final : public c10::Allocator {
public:
    CappedCpuAllocator(c10::Allocator* inner, size_t limit) : inner_(inner), limit_(limit) {}
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
    c10::DataPtr allocate(size_t n) override {
        check(n);
        return inner_->allocate(n);
    }
    void copy_data(void* dest, const void* src, std::size_t count) const override {
        default_copy_data(dest, src, count);
    }
#else
    c10::DataPtr allocate(size_t n) const override {
        check(n);
        return inner_->allocate(n);
    }
#endif
    c10::DeleterFnPtr raw_deleter() const override {
        return inner_->raw_deleter();
    }

private:
    void check(size_t n) const {
        TORCH_CHECK_WITH(OutOfMemoryError, n <= limit_,
                         "DefaultCPUAllocator: not enough memory: you tried to allocate ", n, " bytes.");
    }
    c10::Allocator* inner_;
    size_t limit_;
};

// Installs the cap for its lifetime.
class HostMemoryCap {
public:
    explicit HostMemoryCap(size_t limit) : previous_(c10::GetCPUAllocator()), capped_(previous_, limit) {
        c10::SetCPUAllocator(&capped_, kPriority);
    }
    ~HostMemoryCap() { c10::SetCPUAllocator(previous_, kPriority); }

private:
    static constexpr uint8_t kPriority = 100;
    c10::Allocator* previous_;
    CappedCpuAllocator capped_;
};

TEST(OutOfMemory, HostMemoryRunningOutFailsCleanlyAndTheModelWorksAfterwards) {
    if (!test::testDevice().is_cpu()) GTEST_SKIP() << "the host cap is a CPU test";
    auto model = Model::load(demoDir(), {torch::kCPU, torch::kFloat32});
    const auto windows = demoWindows(4, 64);
    LayerMask removed(model->numLayers());
    removed.remove(Unit::Attention, 5);
    AdapterSet installed;
    installed.units.push_back({Unit::Attention, 5, torch::full({256}, 0.01f), {}, {}});
    model->setAdapters(installed);
    const double before = evaluateLoss(*model, windows, removed, {2, {}}).loss;

    {
        // Logits of a batch (2 x 64 x 8192 floats, 4 MiB) no longer fit; the weights are in place.
        HostMemoryCap cap(1 << 20);
        auto m = messageOf([&] { evaluateLoss(*model, windows, removed, {2, {}}); });
        EXPECT_EQ(
            m.rfind("out of memory while evaluating the loss (DefaultCPUAllocator: not enough memory", 0), 0u)
            << m;
        EXPECT_NE(m.find("smaller batch size"), std::string::npos) << m;
        m = messageOf([&] { residualMetrics(*model, windows, {}); });
        EXPECT_EQ(m.rfind("out of memory while computing residual-stream metrics", 0), 0u) << m;
        AdapterTrainingOptions to;
        to.steps = 2;
        to.batchSize = 2;
        m = messageOf([&] { fitAdapters(*model, windows, removed, {}); });
        EXPECT_EQ(m.rfind("out of memory while fitting adapters", 0), 0u) << m;
        to.initFromFit = false; // straight to the training steps
        m = messageOf([&] { trainAdapters(*model, windows, removed, to); });
        EXPECT_EQ(m.rfind("out of memory while training adapters", 0), 0u) << m;
    }
    // The adapters that were installed are still the ones in use, and nothing else changed.
    ASSERT_EQ(model->adapters().units.size(), 1u);
    EXPECT_EQ(test::maxDiff(model->adapters().units[0].bias, installed.units[0].bias), 0.0);
    EXPECT_TRUE(model->adapters().lora.empty());
    EXPECT_EQ(evaluateLoss(*model, windows, removed, {2, {}}).loss, before);
}

TEST(OutOfMemory, AFullGpuFailsCleanlyAndTheModelWorksAfterwards) {
    const auto device = test::testDevice();
    if (!device.is_cuda()) GTEST_SKIP() << "needs LAYERLAB_TEST_DEVICE=cuda";
    auto model = Model::load(demoDir(), {device, torch::kFloat32});
    const auto windows = demoWindows(8, 256);
    const LayerMask mask(model->numLayers());
    const double before = evaluateLoss(*model, windows, mask, {8, {}}).loss;
    std::string message;
    {
        // Take every block of 16 MiB the GPU still has; a batch's logits need 64 MiB.
        std::vector<torch::Tensor> filler;
        try {
            for (;;)
                filler.push_back(
                    torch::empty({16 << 20}, torch::TensorOptions().dtype(torch::kUInt8).device(device)));
        } catch (const c10::Error&) {
        }
        ASSERT_GT(filler.size(), 10u);
        message = messageOf([&] { evaluateLoss(*model, windows, mask, {8, {}}); });
        std::cout << "filled " << filler.size() * 16 << " MiB; " << message.substr(0, 200) << "\n";
    }
    EXPECT_EQ(message.rfind("out of memory while evaluating the loss (CUDA out of memory", 0), 0u) << message;
    EXPECT_EQ(evaluateLoss(*model, windows, mask, {8, {}}).loss, before);
    // The filler's memory stays in the allocator's cache; later tests need the driver to have some.
    releaseCachedGpuMemory();
}

} // namespace
