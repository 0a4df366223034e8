// Greedy decoding throughput with the model loaded once: generateBatch on B copies of a prompt,
// each way of running the steps after the prompt (CUDA graphs, fixed-shape steps one by one, the
// dynamic reference), three passes each; the first pass of the first way pays the GPU's warm-up.
// Prints one JSON object per pass; bench/run_side_by_side.sh compares with transformers' generate.
//
// usage: bench_generate MODEL_DIR PROMPT [--device cuda] [--dtype bf16] [--batch 1]
//        [--new-tokens 128] [--steps auto,fixed,dynamic] [--passes 3] [--warm-up 0|1]
// --warm-up 0: load without the GPU warm-up beside the loading threads (LoadOptions::gpuWarmUp).
// Each pass also prints the peaks of LibTorch's allocator so far (allocator_peak_mib).

#include "bench_options.h"
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

namespace {
constexpr double mib = 1024.0 * 1024.0;
// The allocator's peaks on the model's GPU (its first, on a split model); zeros on the CPU.
GpuMemoryPeaks peaks(const torch::Device& d) {
    return gpuMemoryPeaks(d.index());
}
} // namespace

int main(int argc, char** argv) {
    const char* usage = "usage: bench_generate MODEL_DIR PROMPT [--device D] [--dtype T] [--batch B] "
                        "[--new-tokens N] [--steps auto,fixed,dynamic] [--passes P] [--warm-up 0|1]";
    if (argc < 3) {
        std::cerr << usage << "\n";
        return 2;
    }
    auto opt = bench::parseOptions(argc, argv, 3,
                                   {{"device", "cuda"},
                                    {"dtype", "bf16"},
                                    {"batch", "1"},
                                    {"new-tokens", "128"},
                                    {"steps", "auto,fixed,dynamic"},
                                    {"passes", "3"},
                                    {"warm-up", "1"}},
                                   usage);
    useExpandableGpuSegments(); // as the CLI and the workbench do
    if (const auto warning = chooseAttentionBackend(); !warning.empty())
        std::cerr << "bench_generate: " << warning << "\n";
    try {
        LoadOptions load{parseDevice(opt["device"]), parseDtype(opt["dtype"])};
        load.gpuWarmUp = opt["warm-up"] != "0";
        auto model = Model::load(argv[1], load);
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
                    {"head", head},
                    {"allocator_peak_mib",
                     {{"allocated", static_cast<double>(peaks(model->device()).allocated) / mib},
                      {"reserved", static_cast<double>(peaks(model->device()).reserved) / mib}}}};
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
