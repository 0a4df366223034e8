#pragma once
// Internal to core/export. What differs between the export formats: which sources and removal
// sets they hold, how a removed sub-layer appears, which bias flags they have, and their
// config.json. The tensors follow from those decisions (export_tensors.cpp), the same code for
// every format.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "export/checkpoint_export.h"
#include "model/model_config.h"

namespace layerlab::export_detail {

struct ExportPlan;
enum class Slot;

class FormatWriter {
public:
    virtual ~FormatWriter() = default;

    // Refuses a source the format cannot hold (called once the format is known, before the
    // adapters are read).
    virtual void checkSource(const ExportPlan& plan) const {}
    // Refuses a layer the format cannot hold, given which of its sub-layers stay.
    virtual void checkLayer(int64_t layer, bool attnOn, bool ffnOn) const {}
    // How a removed sub-layer appears (the adapters may still turn it into a linear layer).
    virtual Slot removedSlot() const = 0;
    // Whether a low-rank stand-in can be written (as a replace_with_linear layer).
    virtual bool holdsLinearLayers() const { return false; }
    // Whether the written architecture has Llama's attention_bias / mlp_bias flags, so that an
    // o_proj / down_proj bias can be added to hold a folded bias stand-in.
    virtual bool hasLlamaBiasFlags(const ModelConfig& c) const = 0;
    // Sets plan.ffnWidth (already the source's intermediate size) and what goes with it.
    virtual void planFfnWidth(ExportPlan& plan) const {}
    // config.json of the export.
    virtual nlohmann::json config(const ExportPlan& plan) const = 0;
    // Further files the export carries (name, contents), such as the code its config.json names.
    virtual std::vector<std::pair<std::string, std::string>> codeFiles() const { return {}; }
    // Which runtimes load the planned export.
    virtual std::vector<RuntimeSupport> runtimes(const ExportPlan& plan) const = 0;
};

std::unique_ptr<FormatWriter> makeFormatWriter(ExportFormat format); // HuggingFace, NemotronNas or Zeroed
std::unique_ptr<FormatWriter> makeHfWriter();
std::unique_ptr<FormatWriter> makeNemotronNasWriter();
std::unique_ptr<FormatWriter> makeZeroedWriter();

// The source's config.json with the plan's layer count, dtype, tying, bias flags and per-layer
// fields: the whole config of hf and zeroed, the base of Nemotron-NAS's.
nlohmann::json hfConfig(const ExportPlan& plan);
// Runtimes of an export in the source's own architecture (hf and zeroed).
std::vector<RuntimeSupport> sourceArchitectureRuntimes(const ExportPlan& plan);

} // namespace layerlab::export_detail
