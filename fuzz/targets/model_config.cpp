// seeds: tests/data/reference/*/config.json resources/demo/config.json

// config.json: JSON parsing and ModelConfig validation (both spellings of RoPE and dtype).

#include "fuzz_target.h"

#include "io/json_file.h"
#include "model/model_config.h"

LAYERLAB_FUZZ_TARGET(model_config) {
    using namespace layerlab;
    const ModelConfig c = ModelConfig::fromJson(parseJsonText(input, "config.json"), "config.json");
    (void)c.qDim();
    (void)c.kvDim();
}
