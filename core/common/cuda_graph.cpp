#include "common/cuda_graph.h"
#include "common/cuda_build.h"

#include "common/error.h"
#include "common/gpu_allocator.h"

#include <optional>

#include <torch/version.h>

#ifdef LAYERLAB_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace layerlab {

#ifdef LAYERLAB_WITH_CUDA

struct CudaGraph::State {
    // Made when recording: LibTorch's graph asks for a CUDA stream as it is made, which would start
    // CUDA for a model on the CPU.
    std::optional<at::cuda::CUDAGraph> graph;
    std::optional<c10::cuda::CUDAStream> stream; // capture needs a stream other than the default
    bool recorded = false;

    void dropGraph() {
        recorded = false;
        graph.reset();
    }
};

namespace {

c10::cuda::CUDAStream recordingStream(std::optional<c10::cuda::CUDAStream>& stream, torch::Device device) {
    if (!stream) stream = c10::cuda::getStreamFromPool(false, device.index());
    return *stream;
}

} // namespace

CudaGraph::CudaGraph() : state_(std::make_unique<State>()) {}

CudaGraph::~CudaGraph() {
    if (!state_->stream) return; // nothing ran on the recording stream
    try {
        c10::cuda::CUDAGuard onDevice(state_->stream->device());
        c10::cuda::device_synchronize(); // replays run on the current stream, not the recording one
        state_->dropGraph();
        // The recording stream's workspaces and the graph's pool (with every other stream's
        // workspaces and unused blocks: see releaseCachedGpuMemory).
        releaseCachedGpuMemory();
    } catch (...) {
        // A destructor does not throw: at worst that memory stays cached.
    }
}

bool CudaGraph::supported(torch::Device device) {
    return device.is_cuda();
}

void CudaGraph::runOnRecordingStream(torch::Device device, const std::function<void()>& work) {
    if (!supported(device)) throw Error("CUDA graphs need a CUDA device, not " + device.str());
    c10::cuda::CUDAGuard onDevice(device);
    // Once per recording: synchronising both ways is simpler than events and costs microseconds.
    c10::cuda::getCurrentCUDAStream(device.index()).synchronize();
    // A graph recorded earlier has its workspace's address built in, and that workspace is about
    // to be freed: the graph goes first.
    state_->dropGraph();
    // The recording stream gets cuBLAS workspaces of its own and the graph a memory pool of its
    // own, which cannot reuse what the current stream holds: that goes back to the driver first,
    // or it would raise the peak (by 20 MiB at batch 1 and 40 MiB at batch 16 for a 7B model on
    // an H200, bench/results/side_by_side_h200.md).
    releaseCachedGpuMemory();
    const auto stream = recordingStream(state_->stream, device);
    try {
        c10::cuda::CUDAStreamGuard onStream(stream);
        work();
    } catch (...) {
        // What was queued must be done before the caller runs the work again on its own stream.
        try {
            stream.synchronize();
        } catch (...) {
        }
        throw;
    }
    stream.synchronize();
}

void CudaGraph::record(torch::Device device, const std::function<void()>& work) {
    if (!supported(device)) throw Error("CUDA graphs need a CUDA device, not " + device.str());
    state_->dropGraph();
    c10::cuda::CUDAGuard onDevice(device);
    c10::cuda::CUDAStreamGuard onStream(recordingStream(state_->stream, device));
    auto& graph = state_->graph.emplace();
    const auto failed = [&](const std::exception& e) {
        state_->graph.reset();
        std::string what = e.what();
        return Error("recording a CUDA graph failed: " + what.substr(0, what.find('\n')));
    };
    try {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
        // Thread-local mode: CUDA calls of other threads (the workbench's) do not break the
        // recording. LibTorch's allocator is shared, though: another thread that empties its
        // cache meanwhile would.
        graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
#else
        graph.capture_begin();
#endif
    } catch (const std::exception& e) {
        throw failed(e);
    }
    try {
        work();
    } catch (const std::exception& e) {
        try {
            graph.capture_end();
        } catch (...) {
        }
        throw failed(e);
    }
    try {
        graph.capture_end();
    } catch (const std::exception& e) {
        throw failed(e);
    }
    state_->recorded = true;
}

bool CudaGraph::recorded() const {
    return state_->recorded;
}

void CudaGraph::replay() {
    if (!state_->recorded) throw Error("no CUDA graph has been recorded");
    state_->graph->replay();
}

#else

struct CudaGraph::State {};

CudaGraph::CudaGraph() : state_(std::make_unique<State>()) {}
CudaGraph::~CudaGraph() = default;

bool CudaGraph::supported(torch::Device) {
    return false;
}

void CudaGraph::runOnRecordingStream(torch::Device device, const std::function<void()>&) {
    throw Error("this build of LayerLab has no CUDA graphs (its LibTorch has no CUDA); device " +
                device.str());
}

void CudaGraph::record(torch::Device device, const std::function<void()>&) {
    throw Error("this build of LayerLab has no CUDA graphs (its LibTorch has no CUDA); device " +
                device.str());
}

bool CudaGraph::recorded() const {
    return false;
}

void CudaGraph::replay() {
    throw Error("this build of LayerLab has no CUDA graphs");
}

#endif

} // namespace layerlab
