#pragma once
// Decoding after the prompt with steps of fixed shapes (Model::decodeStep): one token per row,
// written to a cache slot the GPU keeps count of, attending to the whole cache under a mask. On a
// GPU the step is recorded once as a CUDA graph after its first run and replayed for every later
// token, so that a token costs one launch instead of one per kernel (~600 for a 7B model).

#include <string>
#include <vector>

#include "common/cuda_graph.h"
#include "model/model.h"

namespace layerlab {

class FixedShapeDecoder {
public:
    // After the prompts went through forwardCached into `cache` (see Model::decodeState). The
    // model and the cache must outlive the decoder. recordGraph: replay a CUDA graph from the
    // second step on (where CudaGraph::supported(model.device()); elsewhere the first step fails
    // as below).
    FixedShapeDecoder(const Model& model, const LayerMask& mask, KvCache& cache,
                      const std::vector<int64_t>& realTokens, bool recordGraph);

    // Feeds one token per row (ids: [B] or [B, 1] int64, on any device) and returns the logits
    // of the next tokens [B, V], valid until the next step. Throws Error when the cache is full.
    // Returns an undefined tensor when the first step, which runs on the recording stream, fails
    // there (no stream or library handle to be had, say): nothing of it counts (the cache's length
    // is unchanged), and the caller goes on with dynamic steps; graphError() says why.
    torch::Tensor step(const torch::Tensor& ids);

    bool replaying() const { return graph_.recorded(); }
    // Why the step could not be recorded (the steps then run one by one); empty when it could.
    const std::string& graphError() const { return graphError_; }

private:
    const Model& model_;
    LayerMask mask_;
    KvCache& cache_;
    DecodeState state_;
    CudaGraph graph_;
    torch::Tensor out_; // the graph's logits; released before the graph
    bool recordGraph_;
    int64_t room_; // slots left in the cache
    std::string graphError_;
};

} // namespace layerlab
