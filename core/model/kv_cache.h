#pragma once
// Keys and values of the tokens already seen, per layer, so that generation feeds only the new
// token through the model at each step.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace layerlab {

class KvCache {
public:
    // Room for `capacity` tokens per sequence; the buffers are allocated at first use.
    KvCache(int64_t numLayers, int64_t capacity);

    int64_t length() const { return length_; }
    int64_t capacity() const { return capacity_; }
    // [B, length] bool, true for real tokens (false: padding); undefined when there is none.
    const torch::Tensor& keyMask() const { return keyMask_; }

    // Stores layer l's keys and values ([B, kvHeads, T, headDim], after rotary) for the T tokens
    // of the current step at positions length() .. length()+T-1, and returns all of them so far
    // ([B, kvHeads, length()+T, headDim]). Throws Error when the cache is full.
    std::pair<torch::Tensor, torch::Tensor> append(int64_t layer, const torch::Tensor& keys,
                                                   const torch::Tensor& values);
    // Fixed-shape decoding: stores layer l's keys and values of one token per row
    // ([B, kvHeads, 1, headDim]) at the slot given on the device ([1] int64) and returns the whole
    // buffers ([B, kvHeads, capacity(), headDim]; what the slots beyond hold is masked out).
    // length() does not change: the caller tracks the slots. The layer's buffers must exist.
    std::pair<torch::Tensor, torch::Tensor> appendAt(int64_t layer, const torch::Tensor& keys,
                                                     const torch::Tensor& values, const torch::Tensor& slot);
    // Ends a step of T tokens: they become part of length() (attentionMask [B, T] or undefined).
    void commit(int64_t tokens, const torch::Tensor& attentionMask);

    uint64_t bytes() const; // allocated buffer bytes

private:
    std::vector<torch::Tensor> keys_, values_;
    int64_t length_ = 0, capacity_ = 0;
    torch::Tensor keyMask_;
};

} // namespace layerlab
