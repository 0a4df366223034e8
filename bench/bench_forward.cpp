// Forward throughput and load bandwidth of LayerLab's engine: loads a checkpoint, then times
// forward + loss over random token batches. Prints one JSON object (bench/run_forward_bench.sh
// compares it with transformers on the same GPU and writes bench/results/).
//
// usage: bench_forward MODEL_DIR [--device cuda | --devices cuda:0,cuda:1] [--dtype bf16] [--batch 8]
//                     [--seq 2048] [--iters 5] [--load-threads 0]

#include "bench_options.h"
#include "common/gpu_allocator.h"
#include "model/checkpoint.h"
#include "model/device.h"
#include "model/device_map.h"
#include "model/model.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>
#include <map>

using namespace layerlab;
using Clock = std::chrono::steady_clock;

namespace {
void sync(const std::vector<torch::Device>& devices) {
    for (const auto& d : devices)
        if (d.is_cuda()) torch::cuda::synchronize(d.index());
}

// Peak bytes LibTorch's allocator held on a GPU; -1 where unknown.
double peakGiB(const torch::Device& d) {
    if (!d.is_cuda()) return -1;
    return static_cast<double>(gpuMemoryPeaks(d.index()).allocated) / (1ull << 30);
}
double since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}
} // namespace

int main(int argc, char** argv) {
    const char* usage =
        "usage: bench_forward MODEL_DIR [--device D | --devices LIST] [--dtype T] [--batch B] "
        "[--seq T] [--iters N] [--load-threads N]";
    if (argc < 2) {
        std::cerr << usage << "\n";
        return 2;
    }
    auto opt = bench::parseOptions(argc, argv, 2,
                                   {{"device", "cuda"},
                                    {"devices", ""},
                                    {"dtype", "bf16"},
                                    {"batch", "8"},
                                    {"seq", "2048"},
                                    {"iters", "5"},
                                    {"load-threads", "0"}},
                                   usage);
    try {
        LoadOptions load;
        if (!opt["devices"].empty())
            load.devices = parseDeviceList(opt["devices"]);
        else
            load.device = parseDevice(opt["device"]);
        const auto devices = load.devices.empty() ? std::vector<torch::Device>{load.device} : load.devices;
        const auto device = devices.front();
        const auto dtype = parseDtype(opt["dtype"]);
        const int64_t B = std::stoll(opt["batch"]), T = std::stoll(opt["seq"]),
                      iters = std::stoll(opt["iters"]);

        const uint64_t bytes = Checkpoint::open(argv[1]).totalBytes();
        auto t0 = Clock::now();
        load.dtype = dtype;
        load.activationTokens = B * T;
        load.loadThreads = static_cast<int>(std::stoll(opt["load-threads"]));
        auto model = Model::load(argv[1], load);
        sync(devices);
        const double loadS = since(t0);

        torch::InferenceMode guard;
        torch::manual_seed(0);
        auto ids = torch::randint(model->config().vocabSize, {B, T}, torch::kInt64).to(device);
        LayerMask mask(model->numLayers());
        // Warm-up: kernel selection and allocator growth are not throughput.
        nextTokenLoss(model->forward(ids, mask), ids);
        sync(devices);
        t0 = Clock::now();
        double loss = 0;
        for (int64_t i = 0; i < iters; ++i)
            loss = nextTokenLoss(model->forward(ids, mask), ids).mean();
        sync(devices);
        const double s = since(t0);
        nlohmann::ordered_json j;
        j["engine"] = "layerlab";
        j["device"] = model->deviceMap().describe();
        j["load_threads"] = load.loadThreads;
        j["dtype"] = dtypeName(dtype);
        j["batch"] = B;
        j["seq"] = T;
        j["iters"] = iters;
        j["tokens_per_s"] = static_cast<double>(B * T * iters) / s;
        j["loss"] = loss;
        j["load_s"] = loadS;
        j["checkpoint_bytes"] = bytes;
        j["load_gb_per_s"] = static_cast<double>(bytes) / loadS / 1e9;
        for (const auto& d : model->deviceMap().devices())
            if (const double peak = peakGiB(d); peak >= 0) j["peak_gib"][d.str()] = peak;
        std::cout << j.dump() << std::endl;
    } catch (const std::exception& e) {
        std::cerr << "bench_forward: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
