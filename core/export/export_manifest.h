#pragma once
// Internal to core/export: layerlab.json, the provenance manifest written beside the weights.

#include <string>
#include <vector>

#include "common/progress.h"
#include "export/export_plan.h"

namespace layerlab::export_detail {

// One record per source file the export reads (config, index, shards, companions): name, bytes
// and, unless the request says not to, SHA-256. Reports hashing progress in MiB.
ojson sourceFileRecords(const ExportPlan& plan, const std::vector<std::string>& companions,
                        const Progress& progress);
// The manifest of a planned export; sourceFiles is empty for a preview.
ojson exportManifest(const ExportPlan& plan, const ojson& sourceFiles);

} // namespace layerlab::export_detail
