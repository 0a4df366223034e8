#include "export/pruning_cost.h"

#include "common/error.h"

namespace layerlab {

PruningCost pruningCost(const ModelConfig& c, const ParameterCounts& counts, const LayerMask& mask,
                        int64_t kvElementBytes, int64_t contextTokens) {
    if (mask.numLayers() != c.numLayers || static_cast<int64_t>(counts.attention.size()) != c.numLayers)
        throw Error("the layer mask does not match the model's " + std::to_string(c.numLayers) + " layers");
    PruningCost r;
    r.parametersTotal = counts.total;
    const int64_t kvPerLayer = 2 * c.numKvHeads * c.headDim * kvElementBytes;
    r.kvBytesPerToken = kvPerLayer * c.numLayers;
    const double scoresPerLayer = 4.0 * static_cast<double>(c.numHeads * c.headDim * contextTokens);
    r.flopsPerToken = 2.0 * static_cast<double>(counts.lmHead ? counts.lmHead : counts.embedding);
    for (int64_t l = 0; l < c.numLayers; ++l) {
        // The norms' weights (hiddenSize each) are parameters but no matmul.
        const double a = 2.0 * static_cast<double>(counts.attention[l] - c.hiddenSize) + scoresPerLayer;
        const double f = 2.0 * static_cast<double>(counts.ffn[l] - c.hiddenSize);
        r.flopsPerToken += a + f;
        if (!mask.attentionOn(l)) {
            ++r.attentionRemoved;
            r.parametersRemoved += counts.attention[l];
            r.kvBytesPerTokenSaved += kvPerLayer;
            r.flopsPerTokenSaved += a;
        }
        if (!mask.ffnOn(l)) {
            ++r.ffnRemoved;
            r.parametersRemoved += counts.ffn[l];
            r.flopsPerTokenSaved += f;
        }
        if (!mask.layerActive(l)) ++r.blocksRemoved;
    }
    r.parameterFraction = r.parametersTotal > 0 ? static_cast<double>(r.parametersRemoved) /
                                                      static_cast<double>(r.parametersTotal)
                                                : 0;
    return r;
}

nlohmann::json pruningCostJson(const PruningCost& c) {
    return {{"attention_removed", c.attentionRemoved}, {"ffn_removed", c.ffnRemoved},
            {"blocks_removed", c.blocksRemoved},       {"parameters_removed", c.parametersRemoved},
            {"parameters_total", c.parametersTotal},   {"parameter_fraction", c.parameterFraction},
            {"kv_bytes_per_token", c.kvBytesPerToken}, {"kv_bytes_per_token_saved", c.kvBytesPerTokenSaved},
            {"flops_per_token", c.flopsPerToken},      {"flops_per_token_saved", c.flopsPerTokenSaved}};
}

} // namespace layerlab
