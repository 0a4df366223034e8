#pragma once
// Importance scores as the workbench keeps them: metric -> one vector per granularity, plus
// standard errors where a metric has them. A LibTorch-free copy of the core's ImportanceScores so
// the models and widgets compile without the torch headers.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/layer_mask.h"

namespace layerlab::ui {

using PerUnit = std::array<std::vector<double>, 3>; // indexed by Unit; empty where not computed

struct ScoreTable {
    std::map<std::string, PerUnit> values;
    std::map<std::string, PerUnit> stdErr;
    int64_t angularN = 0; // the run length the "angular" entries are for

    bool empty() const { return values.empty(); }
    const std::vector<double>& at(const std::string& metric, Unit unit) const;
    const std::vector<double>* stdErrOf(const std::string& metric, Unit unit) const;
    // Replaces the given metrics' entries by those of `from` (scores computed in stages).
    void merge(const ScoreTable& from);
};

// Display order of the metrics the core knows; others follow alphabetically.
int metricOrder(const std::string& metric);
std::vector<std::string> orderedMetrics(const ScoreTable& table);

} // namespace layerlab::ui
