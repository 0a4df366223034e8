// Throughput of the evaluation functions `eval` uses, with the model loaded once: perplexity
// (evaluateLoss) over a .jsonl of token ids and multiple-choice scoring over a task file, each
// run twice; the first pass includes the GPU's warm-up (kernel choice for every new shape,
// allocator growth), the second is the steady state. Prints one JSON object per part
// (bench/run_eval_bench.sh compares with transformers on the same data).
//
// usage: bench_eval MODEL_DIR DATA.jsonl TASK.jsonl
//        [--device cuda] [--dtype bf16] [--batch 8] [--mc-batch 16] [--kernels fused|reference]
//        [--add-norm fused|separate] [--mc-pad N] [--prewarm-gib G] [--prewarm-forward 0|1] [--parts
//        perplexity,multiple_choice]
//        [--profile DIR] [--warm-up 0|1] [--sdpa auto|cudnn|flash]
// --prewarm-gib G: before the first pass, take G GiB from the GPU allocator and give it back (it
// stays reserved); --prewarm-forward 1: one forward pass of 64 tokens first. Each pass also
// prints the seconds at which each batch ended (batch_s), to see where a first pass loses time.
// --profile DIR: LibTorch's profiler (Kineto) records each perplexity pass, CPU and GPU, as a
// Chrome trace, DIR/perplexity_pass1.json, DIR/multiple_choice_pass1.json and so on (LibTorch 2
// with CUDA; bench/profile_summary.py sums them up). --sdpa sets LAYERLAB_ATTENTION (default: its
// value in the environment, else auto, the attention kernel chosen per call, as the CLI does). --warm-up 0:
// load without the GPU warm-up beside the loading threads (LoadOptions::gpuWarmUp). --add-norm
// separate: the residual add and the next RMSNorm as two kernels (LoadOptions::fusedResidualNorm).

#include "bench_options.h"
#include "common/attention_backend.h"
#include "common/gpu_allocator.h"
#include "data/dataset.h"
#include "data/multiple_choice_task.h"
#include "eval/evaluation.h"
#include "eval/multiple_choice_eval.h"
#include "model/device.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>
#include <torch/version.h>
#if TORCH_VERSION_MAJOR >= 2 && defined(LAYERLAB_HAS_C10_CUDA)
#include <torch/csrc/autograd/profiler_kineto.h>
#define LAYERLAB_BENCH_PROFILER 1
#endif

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>

using namespace layerlab;

namespace {

// Records CPU operators and GPU kernels from construction to save(); nothing where not built in.
class PassProfile {
public:
    explicit PassProfile(std::string path) : path_(std::move(path)) {
#ifdef LAYERLAB_BENCH_PROFILER
        if (path_.empty()) return;
        namespace impl = torch::profiler::impl;
        const impl::ProfilerConfig config(impl::ProfilerState::KINETO);
        const std::set<impl::ActivityType> activities{impl::ActivityType::CPU, impl::ActivityType::CUDA};
        torch::autograd::profiler::prepareProfiler(config, activities);
        torch::autograd::profiler::enableProfiler(config, activities);
#else
        if (!path_.empty()) throw std::runtime_error("--profile needs LibTorch 2 with CUDA");
#endif
    }
    void save() {
#ifdef LAYERLAB_BENCH_PROFILER
        if (!path_.empty()) torch::autograd::profiler::disableProfiler()->save(path_);
        path_.clear();
#endif
    }

private:
    std::string path_;
};

} // namespace

int main(int argc, char** argv) {
    const char* usage =
        "usage: bench_eval MODEL_DIR DATA.jsonl TASK.jsonl [--device D] [--dtype T] [--batch B] "
        "[--mc-batch B] [--kernels fused|reference] [--add-norm fused|separate] [--mc-pad N] [--prewarm-gib "
        "G] "
        "[--prewarm-forward 0|1] [--parts perplexity,multiple_choice] [--profile DIR] "
        "[--warm-up 0|1] [--sdpa auto|cudnn|flash]";
    if (argc < 4) {
        std::cerr << usage << "\n";
        return 2;
    }
    auto opt = bench::parseOptions(
        argc, argv, 4,
        {{"device", "cuda"},
         {"dtype", "bf16"},
         {"batch", "8"},
         {"mc-batch", "16"},
         {"kernels", "fused"},
         {"add-norm", "fused"},
         {"mc-pad", "0"},
         {"prewarm-gib", "0"},
         {"prewarm-forward", "0"},
         {"parts", "perplexity,multiple_choice"},
         {"profile", ""},
         {"warm-up", "1"},
         {"sdpa", std::getenv("LAYERLAB_ATTENTION") ? std::getenv("LAYERLAB_ATTENTION") : "auto"}},
        usage);
    useExpandableGpuSegments(); // as the CLI and the workbench do
    setenv("LAYERLAB_ATTENTION", opt["sdpa"].c_str(), 1);
    if (const auto warning = chooseAttentionBackend(); !warning.empty()) { // as the CLI and the workbench do
        std::cerr << "bench_eval: " << warning << "\n";
        return 2;
    }
    try {
        LoadOptions load{parseDevice(opt["device"]), parseDtype(opt["dtype"])};
        load.fusedKernels = opt["kernels"] != "reference";
        load.fusedResidualNorm = opt["add-norm"] != "separate";
        load.gpuWarmUp = opt["warm-up"] != "0";
        const auto loadStart = std::chrono::steady_clock::now();
        auto model = Model::load(argv[1], load);
        std::cout << nlohmann::json{{"part", "load"},
                                    {"seconds", std::chrono::duration<double>(
                                                    std::chrono::steady_clock::now() - loadStart)
                                                    .count()}}
                  << std::endl;
        const auto tokenizer = Tokenizer::load(argv[1]);
        TokenDataOptions dataOptions;
        dataOptions.windows.seqLen = 0;
        const auto data = loadTokenData(argv[2], tokenizer, dataOptions);
        const auto task = loadMultipleChoiceTask(argv[3]);
        const LayerMask mask(model->numLayers());
        if (const double gib = std::stod(opt["prewarm-gib"]); gib > 0)
            torch::empty({static_cast<int64_t>(gib * (1LL << 30))},
                         torch::TensorOptions().dtype(torch::kUInt8).device(model->device()));
        if (opt["prewarm-forward"] == "1") {
            torch::InferenceMode inference;
            model->forward(torch::zeros({1, 64}, torch::kInt64), mask).cpu();
        }
        // LibTorch's allocator since the process began (nvidia-smi adds the context and libraries).
        const auto allocatorPeaks = [&] {
            const auto p = gpuMemoryPeaks(model->device().index()); // zeros on the CPU (index -1)
            return nlohmann::json{{"allocated", static_cast<double>(p.allocated) / (1 << 20)},
                                  {"reserved", static_cast<double>(p.reserved) / (1 << 20)}};
        };
        // Seconds since the pass began at each progress report (one per batch).
        std::vector<double> marks;
        auto start = std::chrono::steady_clock::now();
        const Progress timing(
            [&](const ProgressInfo&) {
                marks.push_back(
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
            },
            {});
        const auto begin = [&] {
            marks.clear();
            start = std::chrono::steady_clock::now();
        };
        const bool perplexity = opt["parts"].find("perplexity") != std::string::npos;
        const bool choice = opt["parts"].find("multiple_choice") != std::string::npos;
        for (int pass = 1; perplexity && pass <= 2; ++pass) {
            PassProfile profile(opt["profile"].empty()
                                    ? ""
                                    : opt["profile"] + "/perplexity_pass" + std::to_string(pass) + ".json");
            begin();
            const auto r = evaluateLoss(*model, data.windows, mask, {std::stoll(opt["batch"]), {}}, timing);
            profile.save();
            std::cout << nlohmann::json{{"engine",
                                         "layerlab-" + opt["kernels"] +
                                             (opt["add-norm"] == "separate" ? "-separate-norm" : "")},
                                        {"part", "perplexity"},
                                        {"pass", pass},
                                        {"loss", r.loss},
                                        {"seconds", r.seconds},
                                        {"tokens_per_s", r.tokensPerSecond},
                                        {"batch_s", marks},
                                        {"allocator_peak_mib", allocatorPeaks()}}
                      << std::endl;
        }
        for (int pass = 1; choice && pass <= 2; ++pass) {
            PassProfile profile(opt["profile"].empty() ? ""
                                                       : opt["profile"] + "/multiple_choice_pass" +
                                                             std::to_string(pass) + ".json");
            begin();
            const auto r =
                evaluateMultipleChoice(*model, tokenizer, task, mask,
                                       {std::stoll(opt["mc-batch"]), std::stoll(opt["mc-pad"])}, timing);
            profile.save();
            std::cout << nlohmann::json{{"engine",
                                         "layerlab-" + opt["kernels"] +
                                             (opt["add-norm"] == "separate" ? "-separate-norm" : "")},
                                        {"part", "multiple_choice"},
                                        {"pass", pass},
                                        {"acc", r.acc},
                                        {"tokens", r.tokens},
                                        {"seconds", r.seconds},
                                        {"tokens_per_s", r.tokensPerSecond},
                                        {"batch_s", marks},
                                        {"allocator_peak_mib", allocatorPeaks()}}
                      << std::endl;
        }
    } catch (const std::exception& e) {
        std::cerr << "bench_eval: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
