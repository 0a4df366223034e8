#include "eval/fixed_shape_decoder.h"

#include "common/attention_backend.h"
#include "common/error.h"

namespace layerlab {

namespace {

std::string firstLine(const std::string& text) {
    return text.substr(0, text.find('\n'));
}

} // namespace

FixedShapeDecoder::FixedShapeDecoder(const Model& model, const LayerMask& mask, KvCache& cache,
                                     const std::vector<int64_t>& realTokens, bool recordGraph)
    : model_(model), mask_(mask), cache_(cache), state_(model.decodeState(cache, realTokens)),
      recordGraph_(recordGraph), room_(cache.capacity() - cache.length()) {}

torch::Tensor FixedShapeDecoder::step(const torch::Tensor& ids) {
    if (room_ < 1)
        throw Error("the KV cache holds " + std::to_string(cache_.capacity()) +
                    " tokens; one more was asked for");
    if (ids.numel() != state_.ids.size(0))
        throw Error("fixed-shape decoding feeds one token per row: " + std::to_string(state_.ids.size(0)) +
                    " rows, " + std::to_string(ids.numel()) + " tokens");
    state_.ids.copy_(ids.reshape({-1, 1}));
    if (graph_.recorded()) {
        graph_.replay();
        --room_;
        return out_;
    }
    // The first run and the recording take the dynamic steps' kernel: cuDNN would build a plan
    // for the step's one shape (70 ms, 7% of 128 tokens at batch 1) and be no faster in a graph.
    const AttentionKernelScope attention(attentionKernelFor(ids.numel(), 1), model_.device().is_cuda());
    torch::Tensor logits;
    if (!recordGraph_) {
        logits = model_.decodeStep(state_, mask_, cache_);
    } else {
        // The first step runs on the recording stream (handles, workspaces and kernel choices for
        // it), then the same step is recorded; it runs when replayed. When the recording fails
        // after that, the steps run one by one on the current stream.
        recordGraph_ = false;
        try {
            graph_.runOnRecordingStream(model_.device(),
                                        [&] { logits = model_.decodeStep(state_, mask_, cache_); });
        } catch (const std::exception& e) {
            graphError_ = firstLine(e.what());
            return {};
        }
        if (room_ > 1) {
            try {
                graph_.record(model_.device(), [&] { out_ = model_.decodeStep(state_, mask_, cache_); });
            } catch (const std::exception& e) {
                graphError_ = firstLine(e.what());
                out_ = torch::Tensor();
            }
        }
    }
    --room_;
    return logits;
}

} // namespace layerlab
