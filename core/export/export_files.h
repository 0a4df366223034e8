#pragma once
// Internal to core/export: writing a planned export to disk. Everything goes to a temporary
// folder beside the target, which is renamed into place only when complete.

#include "common/progress.h"
#include "export/checkpoint_export.h"
#include "export/export_plan.h"

namespace layerlab::export_detail {

// Checks the target and the free space, writes the shards (and their index), config.json, the
// companion files and layerlab.json, and moves the folder into place (replacing the old target
// only once the new one is there).
ExportResult writeExport(const ExportPlan& plan, const Progress& progress);

} // namespace layerlab::export_detail
