#include "model/kv_cache.h"

#include "common/error.h"

namespace layerlab {

KvCache::KvCache(int64_t numLayers, int64_t capacity)
    : keys_(static_cast<size_t>(numLayers)), values_(static_cast<size_t>(numLayers)), capacity_(capacity) {
    if (capacity < 1) throw Error("the KV cache needs room for at least one token");
}

std::pair<torch::Tensor, torch::Tensor> KvCache::append(int64_t layer, const torch::Tensor& keys,
                                                        const torch::Tensor& values) {
    const int64_t T = keys.size(2);
    if (length_ + T > capacity_)
        throw Error("the KV cache holds " + std::to_string(capacity_) + " tokens; " +
                    std::to_string(length_ + T) + " were asked for");
    auto& k = keys_.at(static_cast<size_t>(layer));
    auto& v = values_.at(static_cast<size_t>(layer));
    if (!k.defined()) {
        // Zeros, not whatever the memory held: fixed-shape decoding attends to every slot, and a
        // masked slot's weight is 0, which a NaN or infinity left in memory would still poison.
        k = torch::zeros({keys.size(0), keys.size(1), capacity_, keys.size(3)}, keys.options());
        v = torch::zeros({values.size(0), values.size(1), capacity_, values.size(3)}, values.options());
    }
    k.narrow(2, length_, T).copy_(keys);
    v.narrow(2, length_, T).copy_(values);
    return {k.narrow(2, 0, length_ + T), v.narrow(2, 0, length_ + T)};
}

std::pair<torch::Tensor, torch::Tensor> KvCache::appendAt(int64_t layer, const torch::Tensor& keys,
                                                          const torch::Tensor& values,
                                                          const torch::Tensor& slot) {
    auto& k = keys_.at(static_cast<size_t>(layer));
    auto& v = values_.at(static_cast<size_t>(layer));
    if (!k.defined())
        throw Error("layer " + std::to_string(layer) +
                    " has no cached keys: the prompt did not run through it");
    k.index_copy_(2, slot, keys);
    v.index_copy_(2, slot, values);
    return {k, v};
}

void KvCache::commit(int64_t tokens, const torch::Tensor& attentionMask) {
    if (attentionMask.defined() || keyMask_.defined()) {
        auto past = keyMask_.defined() ? keyMask_ : torch::Tensor();
        auto now = attentionMask.defined() ? attentionMask.to(torch::kBool) : torch::Tensor();
        if (!past.defined() && now.defined()) past = torch::ones({now.size(0), length_}, now.options());
        if (!now.defined()) now = torch::ones({past.size(0), tokens}, past.options());
        keyMask_ = torch::cat({past, now}, 1);
    }
    length_ += tokens;
}

uint64_t KvCache::bytes() const {
    uint64_t total = 0;
    for (size_t l = 0; l < keys_.size(); ++l)
        if (keys_[l].defined()) total += static_cast<uint64_t>(keys_[l].nbytes() + values_[l].nbytes());
    return total;
}

} // namespace layerlab
