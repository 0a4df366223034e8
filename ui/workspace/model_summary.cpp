#include "workspace/model_summary.h"

#include "model/device.h"
#include "model/model.h"

namespace layerlab::ui {

ModelSummary summarize(const Model& model) {
    ModelSummary s;
    s.dir = model.dir().string();
    s.config = model.config();
    s.parameters = model.parameterCounts();
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
