#include "workspace/score_table.h"

#include <algorithm>

namespace layerlab::ui {

const std::vector<double>& ScoreTable::at(const std::string& metric, Unit unit) const {
    static const std::vector<double> none;
    const auto it = values.find(metric);
    return it == values.end() ? none : it->second[static_cast<size_t>(unit)];
}

const std::vector<double>* ScoreTable::stdErrOf(const std::string& metric, Unit unit) const {
    const auto it = stdErr.find(metric);
    if (it == stdErr.end() || it->second[static_cast<size_t>(unit)].empty()) return nullptr;
    return &it->second[static_cast<size_t>(unit)];
}

void ScoreTable::merge(const ScoreTable& from) {
    for (const auto& [metric, perUnit] : from.values) {
        auto& mine = values[metric];
        for (size_t u = 0; u < 3; ++u)
            if (!perUnit[u].empty()) mine[u] = perUnit[u];
        // Old standard errors of a recomputed unit no longer belong to its values.
        if (auto it = stdErr.find(metric); it != stdErr.end())
            for (size_t u = 0; u < 3; ++u)
                if (!perUnit[u].empty()) it->second[u].clear();
    }
    for (const auto& [metric, perUnit] : from.stdErr) {
        auto& mine = stdErr[metric];
        for (size_t u = 0; u < 3; ++u)
            if (!perUnit[u].empty()) mine[u] = perUnit[u];
    }
    if (from.values.count("angular")) angularN = from.angularN;
}

int metricOrder(const std::string& metric) {
    static const std::vector<std::string> order = {"cosine",
                                                   "angular",
                                                   "drop_loss",
                                                   "drop_logit_l2",
                                                   "drop_kl",
                                                   "drop_task_loss",
                                                   "taylor",
                                                   "taylor_abs",
                                                   "shapley",
                                                   "shapley_logit_l2",
                                                   "shapley_kl",
                                                   "shapley_task_loss",
                                                   "present_absent",
                                                   "present_absent_logit_l2",
                                                   "present_absent_kl",
                                                   "present_absent_task_loss",
                                                   "l1_update",
                                                   "l2_update",
                                                   "rel_l1_update",
                                                   "rel_l2_update"};
    const auto it = std::find(order.begin(), order.end(), metric);
    return it == order.end() ? static_cast<int>(order.size()) : static_cast<int>(it - order.begin());
}

std::vector<std::string> orderedMetrics(const ScoreTable& table) {
    std::vector<std::string> out;
    for (const auto& [metric, perUnit] : table.values)
        out.push_back(metric);
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return metricOrder(a) < metricOrder(b); });
    return out;
}

} // namespace layerlab::ui
