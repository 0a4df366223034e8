#include "common/attention_backend.h"

#include <ATen/Context.h>
#include <torch/version.h>

#include <cstdlib>

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define LAYERLAB_SDP_CUDNN_SWITCH 1
#endif

namespace layerlab {
namespace {

enum class AttentionSetting { Auto, Cudnn, Flash, Unknown };

AttentionSetting attentionSetting() {
    const char* value = std::getenv("LAYERLAB_ATTENTION");
    const std::string choice = value ? value : "";
    if (choice.empty() || choice == "auto") return AttentionSetting::Auto;
    if (choice == "cudnn") return AttentionSetting::Cudnn;
    if (choice == "flash") return AttentionSetting::Flash;
    return AttentionSetting::Unknown;
}

} // namespace

std::string chooseAttentionBackend() {
    const auto setting = attentionSetting();
#ifdef LAYERLAB_SDP_CUDNN_SWITCH
    if (setting == AttentionSetting::Flash) at::globalContext().setSDPUseCuDNN(false);
#endif
    if (setting != AttentionSetting::Unknown) return "";
    return "LAYERLAB_ATTENTION='" + std::string(std::getenv("LAYERLAB_ATTENTION")) +
           "' is not auto, cudnn or flash; the attention kernel is chosen per call (auto)";
}

AttentionKernel attentionKernelFor(int64_t tokens, int64_t shapes) {
    constexpr int64_t tokensPerPlan = 128 * 1024;
    if (shapes <= 0) return AttentionKernel::LibTorchChoice;
    return tokens / shapes < tokensPerPlan ? AttentionKernel::FlashAttention
                                           : AttentionKernel::LibTorchChoice;
}

AttentionKernelScope::AttentionKernelScope(AttentionKernel kernel, bool onGpu) {
#ifdef LAYERLAB_SDP_CUDNN_SWITCH
    const auto setting = attentionSetting();
    if (!onGpu || kernel != AttentionKernel::FlashAttention ||
        (setting != AttentionSetting::Auto && setting != AttentionSetting::Unknown))
        return;
    previous_ = at::globalContext().userEnabledCuDNNSDP();
    at::globalContext().setSDPUseCuDNN(false);
    restore_ = true;
#else
    (void)kernel;
    (void)onGpu;
#endif
}

AttentionKernelScope::~AttentionKernelScope() {
#ifdef LAYERLAB_SDP_CUDNN_SWITCH
    if (restore_) at::globalContext().setSDPUseCuDNN(previous_);
#endif
}

} // namespace layerlab
