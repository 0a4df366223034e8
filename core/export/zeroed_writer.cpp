// The zeroed format: the source's architecture unchanged, every layer kept, the removed
// sub-layers' output projections (o_proj, down_proj) zeroed. Same outputs, no speed gain, and
// every tool loads it.
#include "export/export_plan.h"
#include "export/format_writer.h"

namespace layerlab::export_detail {

namespace {

class ZeroedWriter : public FormatWriter {
public:
    Slot removedSlot() const override { return Slot::Zeroed; }
    bool hasLlamaBiasFlags(const ModelConfig& c) const override {
        return c.architecture == Architecture::Llama;
    }
    nlohmann::json config(const ExportPlan& plan) const override { return hfConfig(plan); }
    std::vector<RuntimeSupport> runtimes(const ExportPlan& plan) const override {
        return sourceArchitectureRuntimes(plan);
    }
};

} // namespace

std::unique_ptr<FormatWriter> makeZeroedWriter() {
    return std::make_unique<ZeroedWriter>();
}

} // namespace layerlab::export_detail
