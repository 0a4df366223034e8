// Greedy decoding throughput with the model loaded once: generateBatch on B copies of a prompt,
// each way of running the steps after the prompt (CUDA graphs, fixed-shape steps one by one, the
// dynamic reference), three passes each; the first pass of the first way pays the GPU's warm-up.
// Prints one JSON object per pass; bench/run_side_by_side.sh compares with transformers' generate.
//
// usage: bench_generate MODEL_DIR PROMPT [--device cuda] [--dtype bf16] [--batch 1]
//        [--new-tokens 128] [--steps auto,fixed,dynamic] [--passes 3]

#include "common/attention_backend.h"
#include "common/gpu_allocator.h"
#include "eval/generation.h"
#include "model/device.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <map>
#include <sstream>

using namespace layerlab;

int main(int argc, char** argv) {
    if (argc < 3) {
        std::cerr << "usage: bench_generate MODEL_DIR PROMPT [--device D] [--dtype T] [--batch B] "
                     "[--new-tokens N] [--steps auto,fixed,dynamic] [--passes P]\n";
        return 2;
    }
    std::map<std::string, std::string> opt = {{"device", "cuda"},
                                              {"dtype", "bf16"},
                                              {"batch", "1"},
                                              {"new-tokens", "128"},
                                              {"steps", "auto,fixed,dynamic"},
                                              {"passes", "3"}};
    for (int i = 3; i + 1 < argc; i += 2)
        opt[std::string(argv[i]).substr(2)] = argv[i + 1];
    useExpandableGpuSegments(); // as the CLI and the workbench do
    chooseAttentionBackend();
    try {
        auto model = Model::load(argv[1], {parseDevice(opt["device"]), parseDtype(opt["dtype"])});
        const auto tokenizer = Tokenizer::load(argv[1]);
        const auto prompt = tokenizer.encode(argv[2], true);
        const auto batch = std::stoll(opt["batch"]);
        const std::vector<std::vector<int64_t>> prompts(static_cast<size_t>(batch), prompt);
        const LayerMask mask(model->numLayers());
        std::stringstream list(opt["steps"]);
        for (std::string steps; std::getline(list, steps, ',');) {
            GenerationOptions g;
            g.maxNewTokens = std::stoll(opt["new-tokens"]);
            g.decodeSteps = steps == "dynamic" ? DecodeSteps::Dynamic
                            : steps == "fixed" ? DecodeSteps::FixedShape
                                               : DecodeSteps::Auto;
            for (int pass = 1; pass <= std::stoi(opt["passes"]); ++pass) {
                const auto r = generateBatch(*model, prompts, mask, g);
                const auto n = static_cast<double>(r.tokens.front().size());
                const double decodeSeconds = r.seconds - r.firstTokenSeconds;
                std::vector<int64_t> head(r.tokens.front().begin(),
                                          r.tokens.front().begin() +
                                              std::min<size_t>(8, r.tokens.front().size()));
                nlohmann::json j{
                    {"engine", "layerlab"},
                    {"part", "decode_batch" + std::to_string(batch)},
                    {"steps", r.decodeSteps},
                    {"pass", pass},
                    {"prompt_tokens", prompt.size()},
                    {"new_tokens", r.tokens.front().size()},
                    {"seconds", r.seconds},
                    {"first_token_s", r.firstTokenSeconds},
                    {"tokens_per_s", r.tokensPerSecond},
                    {"decode_tokens_per_s",
                     decodeSeconds > 0 ? static_cast<double>(batch) * (n - 1) / decodeSeconds : 0.0},
                    {"head", head}};
                if (!r.graphError.empty()) j["cuda_graph_error"] = r.graphError;
                std::cout << j << std::endl;
            }
        }
    } catch (const std::exception& e) {
        std::cerr << "bench_generate: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
