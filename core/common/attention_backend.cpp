#include "common/attention_backend.h"

#include <ATen/Context.h>
#include <torch/version.h>

#include <cstdlib>
#include <string>

namespace layerlab {

void chooseAttentionBackend() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
    const char* choice = std::getenv("LAYERLAB_ATTENTION");
    if (choice && std::string(choice) == "flash") at::globalContext().setSDPUseCuDNN(false);
#endif
}

} // namespace layerlab
