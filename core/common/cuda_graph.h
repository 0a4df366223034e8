#pragma once
// GPU work recorded once and replayed with one launch (a CUDA graph). Decoding one token at a
// time with a 7B model launches ~600 small kernels per token, and launching them, not the GPU,
// sets the pace; a replay launches them all at once. Built only where LibTorch has CUDA:
// elsewhere supported() is false and record() throws.

#include <functional>
#include <memory>

#include <torch/torch.h>

namespace layerlab {

class CudaGraph {
public:
    CudaGraph();
    ~CudaGraph();
    CudaGraph(const CudaGraph&) = delete;
    CudaGraph& operator=(const CudaGraph&) = delete;

    // Whether this build can record graphs on `device` (a CUDA device, LibTorch built with CUDA).
    static bool supported(torch::Device device);

    // Runs `work` now on the side stream that record() records on, waiting for what the current
    // stream has queued and making it wait in turn: the warm-up a recording needs (libraries make
    // their handles and workspaces for that stream and choose their kernels). Its effects are real.
    // First it drops a graph recorded before and calls releaseCachedGpuMemory(), as the
    // destructor does: every stream's cuBLAS workspaces are freed, so one recorded graph lives at
    // a time in a process, and no other thread may use the GPU meanwhile (LayerLab runs one GPU
    // job at a time).
    void runOnRecordingStream(torch::Device device, const std::function<void()>& work);
    // Records what `work` queues on `device`, on the side stream; nothing runs yet. The work must
    // not wait for the GPU (no .item(), no copies from the host) and should have run once on that
    // stream before. Its tensors come from the graph's own memory pool and keep their addresses for
    // every replay. Throws Error when the recording fails (the graph is then empty).
    void record(torch::Device device, const std::function<void()>& work);
    bool recorded() const;
    // Queues the recorded work on the device's current stream.
    void replay();

private:
    struct State;
    std::unique_ptr<State> state_;
};

} // namespace layerlab
