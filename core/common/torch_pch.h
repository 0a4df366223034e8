#pragma once
// Precompiled header: LibTorch's headers dominate compile time on small CI machines.
#include <nlohmann/json.hpp>
#include <torch/torch.h>
