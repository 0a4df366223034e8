#include "workspace/model_summary.h"

#include "model/device.h"
#include "model/model.h"

namespace layerlab::ui {

ModelSummary summarize(const Model& model) {
    const auto& c = model.config();
    const auto p = model.parameterCounts();
    ModelSummary s;
    s.dir = model.dir().string();
    s.architecture = architectureName(c.architecture);
    s.numLayers = c.numLayers;
    s.hiddenSize = c.hiddenSize;
    s.intermediateSize = c.intermediateSize;
    s.numHeads = c.numHeads;
    s.numKvHeads = c.numKvHeads;
    s.headDim = c.headDim;
    s.vocabSize = c.vocabSize;
    s.maxPositions = c.maxPositionEmbeddings;
    s.totalParameters = p.total;
    s.embeddingParameters = p.embedding;
    s.lmHeadParameters = p.lmHead;
    s.finalNormParameters = p.finalNorm;
    s.attentionParameters = p.attention;
    s.ffnParameters = p.ffn;
    s.storedDtype = c.dtype;
    s.computeDtype = dtypeName(model.dtype());
    s.computeDtypeBytes = static_cast<int64_t>(c10::elementSize(model.dtype()));
    for (const auto& d : model.deviceMap().placements) // a list loadModelFolder takes again
        s.device += (s.device.empty() ? "" : ",") + d.str();
    s.placement = model.deviceMap().describe();
    s.weightBytes = model.weightBytes();
    s.unusedTensors = model.unusedTensors();
    return s;
}

} // namespace layerlab::ui
