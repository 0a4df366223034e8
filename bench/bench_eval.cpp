// Throughput of the evaluation functions `eval` uses, with the model loaded once: perplexity
// (evaluateLoss) over a .jsonl of token ids and multiple-choice scoring over a task file, each
// run twice; the first pass includes the GPU's warm-up (kernel choice for every new shape,
// allocator growth), the second is the steady state. Prints one JSON object per part
// (bench/run_eval_bench.sh compares with transformers on the same data).
//
// usage: bench_eval MODEL_DIR DATA.jsonl TASK.jsonl
//        [--device cuda] [--dtype bf16] [--batch 8] [--mc-batch 16]

#include "data/dataset.h"
#include "data/multiple_choice_task.h"
#include "eval/evaluation.h"
#include "eval/multiple_choice_eval.h"
#include "model/device.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <map>

using namespace layerlab;

int main(int argc, char** argv) {
    if (argc < 4) {
        std::cerr << "usage: bench_eval MODEL_DIR DATA.jsonl TASK.jsonl [--device D] [--dtype T] [--batch B] "
                     "[--mc-batch B] [--kernels fused|reference] [--mc-pad N]\n";
        return 2;
    }
    std::map<std::string, std::string> opt = {{"device", "cuda"}, {"dtype", "bf16"},    {"batch", "8"},
                                              {"mc-batch", "16"}, {"kernels", "fused"}, {"mc-pad", "0"}};
    for (int i = 4; i + 1 < argc; i += 2)
        opt[std::string(argv[i]).substr(2)] = argv[i + 1];
    try {
        LoadOptions load{parseDevice(opt["device"]), parseDtype(opt["dtype"])};
        load.fusedKernels = opt["kernels"] != "reference";
        auto model = Model::load(argv[1], load);
        const auto tokenizer = Tokenizer::load(argv[1]);
        TokenDataOptions dataOptions;
        dataOptions.windows.seqLen = 0;
        const auto data = loadTokenData(argv[2], tokenizer, dataOptions);
        const auto task = loadMultipleChoiceTask(argv[3]);
        const LayerMask mask(model->numLayers());
        for (int pass = 1; pass <= 2; ++pass) {
            const auto r = evaluateLoss(*model, data.windows, mask, {std::stoll(opt["batch"]), {}});
            std::cout << nlohmann::json{{"engine", "layerlab-" + opt["kernels"]},
                                        {"part", "perplexity"},
                                        {"pass", pass},
                                        {"loss", r.loss},
                                        {"seconds", r.seconds},
                                        {"tokens_per_s", r.tokensPerSecond}}
                      << std::endl;
        }
        for (int pass = 1; pass <= 2; ++pass) {
            const auto r = evaluateMultipleChoice(*model, tokenizer, task, mask,
                                                  {std::stoll(opt["mc-batch"]), std::stoll(opt["mc-pad"])});
            std::cout << nlohmann::json{{"engine", "layerlab-" + opt["kernels"]},
                                        {"part", "multiple_choice"},
                                        {"pass", pass},
                                        {"acc", r.acc},
                                        {"tokens", r.tokens},
                                        {"seconds", r.seconds},
                                        {"tokens_per_s", r.tokensPerSecond}}
                      << std::endl;
        }
    } catch (const std::exception& e) {
        std::cerr << "bench_eval: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
