// Forward throughput and load bandwidth of LayerLab's engine: loads a checkpoint, then times
// forward + loss over random token batches. Prints one JSON object (bench/run_forward_bench.sh
// compares it with transformers on the same GPU and writes bench/results/).
//
// usage: bench_forward MODEL_DIR [--device cuda] [--dtype bf16] [--batch 8] [--seq 2048] [--iters 5]

#include "checkpoint.h"
#include "device.h"
#include "model.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <map>

using namespace layerlab;
using Clock = std::chrono::steady_clock;

namespace {
void sync(const torch::Device& d) {
    if (d.is_cuda()) torch::cuda::synchronize(d.index());
}
double since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}
} // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::cerr
            << "usage: bench_forward MODEL_DIR [--device D] [--dtype T] [--batch B] [--seq T] [--iters N]\n";
        return 2;
    }
    std::map<std::string, std::string> opt = {
        {"device", "cuda"}, {"dtype", "bf16"}, {"batch", "8"}, {"seq", "2048"}, {"iters", "5"}};
    for (int i = 2; i + 1 < argc; i += 2)
        opt[std::string(argv[i]).substr(2)] = argv[i + 1];
    try {
        const auto device = parseDevice(opt["device"]);
        const auto dtype = parseDtype(opt["dtype"]);
        const int64_t B = std::stoll(opt["batch"]), T = std::stoll(opt["seq"]),
                      iters = std::stoll(opt["iters"]);

        const uint64_t bytes = Checkpoint::open(argv[1]).totalBytes();
        auto t0 = Clock::now();
        auto model = Model::load(argv[1], {device, dtype});
        sync(device);
        const double loadS = since(t0);

        torch::InferenceMode guard;
        torch::manual_seed(0);
        auto ids = torch::randint(model->config().vocabSize, {B, T}, torch::kInt64).to(device);
        LayerMask mask(model->numLayers());
        // Warm-up: kernel selection and allocator growth are not throughput.
        nextTokenLoss(model->forward(ids, mask), ids);
        sync(device);
        t0 = Clock::now();
        double loss = 0;
        for (int64_t i = 0; i < iters; ++i)
            loss = nextTokenLoss(model->forward(ids, mask), ids).mean();
        sync(device);
        const double s = since(t0);
        nlohmann::ordered_json j;
        j["engine"] = "layerlab";
        j["device"] = device.str();
        j["dtype"] = dtypeName(dtype);
        j["batch"] = B;
        j["seq"] = T;
        j["iters"] = iters;
        j["tokens_per_s"] = static_cast<double>(B * T * iters) / s;
        j["loss"] = loss;
        j["load_s"] = loadS;
        j["checkpoint_bytes"] = bytes;
        j["load_gb_per_s"] = static_cast<double>(bytes) / loadS / 1e9;
        if (device.is_cuda()) {
            // Peak memory is not exposed by the C++ API on every version; report nvidia-smi's view instead.
            j["note"] = "peak GPU memory: see nvidia-smi in the run log";
        }
        std::cout << j.dump() << std::endl;
    } catch (const std::exception& e) {
        std::cerr << "bench_forward: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
