#include "importance/importance_request.h"

#include "importance/rank_correlation.h"

#include "common/error.h"
#include "importance/taylor.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

namespace layerlab {

const std::vector<std::string>& importanceMetricNames() {
    static const std::vector<std::string> names = {"cosine",        "angular",       "l1_update", "l2_update",
                                                   "rel_l1_update", "rel_l2_update", "drop_loss", "taylor",
                                                   "shapley",       "present_absent"};
    return names;
}

bool isResidualMetric(const std::string& name) {
    return name == "cosine" || name == "angular" || name == "l1_update" || name == "l2_update" ||
           name == "rel_l1_update" || name == "rel_l2_update";
}

namespace {

// The metrics measured with a value function; scores under another function than the loss carry
// its name (metricName).
bool usesValueFunction(const std::string& metric) {
    return metric == "drop_loss" || metric == "shapley" || metric == "present_absent";
}

// Every name scores are stored under, with the metric that computes them.
const std::vector<std::pair<std::string, std::string>>& scoreNames() {
    static const auto names = [] {
        std::vector<std::pair<std::string, std::string>> out;
        for (const auto& m : importanceMetricNames())
            out.emplace_back(m, m);
        for (const auto& m : importanceMetricNames())
            if (usesValueFunction(m))
                for (auto f : {ValueFunction::LogitL2, ValueFunction::Kl, ValueFunction::TaskLoss})
                    out.emplace_back(metricName(m, f), m);
        return out;
    }();
    return names;
}

Error unknownMetric(const std::string& name, const std::vector<std::string>& valid) {
    std::string list;
    for (const auto& v : valid)
        list += (list.empty() ? "" : ", ") + v;
    return Error("unknown metric '" + name + "' (" + list + ")");
}

void mergeScores(ImportanceScores& into, const ImportanceScores& from, const std::vector<Unit>& units) {
    for (const auto& [metric, byUnit] : from.scores)
        for (Unit u : units)
            if (!byUnit[u].empty()) into.scores[metric][u] = byUnit[u];
    for (const auto& [metric, byUnit] : from.stdErr)
        for (Unit u : units)
            if (!byUnit[u].empty()) into.stdErr[metric][u] = byUnit[u];
    into.forwardPasses += from.forwardPasses;
    into.naiveForwardPasses += from.naiveForwardPasses;
}

// The request's options of a sampled metric for one granularity.
template <typename Options> Options atUnit(Options o, const ImportanceRequest& request, Unit u) {
    o.batchSize = request.batchSize;
    o.unit = u;
    o.value = request.value;
    return o;
}

} // namespace

void checkImportanceMetrics(const std::vector<std::string>& metrics) {
    const auto& known = importanceMetricNames();
    for (const auto& m : metrics)
        if (std::find(known.begin(), known.end(), m) == known.end()) throw unknownMetric(m, known);
}

std::string metricOfScores(const std::string& scoreName) {
    std::vector<std::string> valid;
    for (const auto& [name, metric] : scoreNames()) {
        if (name == scoreName) return metric;
        valid.push_back(name);
    }
    throw unknownMetric(scoreName, valid);
}

ImportanceReport computeImportance(const Model& model, const std::vector<TokenWindow>& windows,
                                   const ImportanceRequest& request, const Progress& progress) {
    checkImportanceMetrics(request.metrics);
    if (request.units.empty()) throw Error("no granularity chosen (block, attn, ffn)");
    if (request.value == ValueFunction::TaskLoss && request.valueWindows.empty())
        throw Error("the task_loss value function needs a task file");
    const auto wants = [&](const std::string& m) {
        return std::find(request.metrics.begin(), request.metrics.end(), m) != request.metrics.end();
    };
    const auto& valueWindows = request.valueWindows.empty() ? windows : request.valueWindows;
    const auto start = std::chrono::steady_clock::now();
    ImportanceReport report;
    auto& settings = report.settings;
    bool haveBase = false;

    if (std::any_of(request.metrics.begin(), request.metrics.end(), isResidualMetric)) {
        ResidualMetricsOptions o;
        o.batchSize = request.batchSize;
        o.angularN = wants("angular") ? request.angularN : 0;
        auto r = residualMetrics(model, windows, o, progress);
        for (auto it = r.scores.scores.begin(); it != r.scores.scores.end();)
            it = wants(it->first) ? std::next(it) : r.scores.scores.erase(it);
        mergeScores(report.scores, r.scores, request.units);
        report.scores.positions = r.scores.positions;
        report.scores.fullLoss = r.scores.fullLoss;
        report.scores.scoredTokens = r.scores.scoredTokens;
        haveBase = true;
        if (wants("angular")) {
            settings["angular_n"] = r.angularN;
            settings["best_angular_start"] = r.bestAngularStart;
        }
    }
    if (request.value != ValueFunction::Loss &&
        std::any_of(request.metrics.begin(), request.metrics.end(), usesValueFunction))
        settings["value_function"] = valueFunctionName(request.value);
    if (wants("drop_loss")) {
        ImportanceOptions o;
        o.batchSize = request.batchSize;
        o.value = request.value;
        auto r = dropLoss(model, valueWindows, request.units, o, progress);
        mergeScores(report.scores, r, request.units);
        settings["drop_loss"] = {{"forward_passes", r.forwardPasses},
                                 {"naive_forward_passes", r.naiveForwardPasses},
                                 {"full_value", r.fullLoss}};
        if (!haveBase && request.value == ValueFunction::Loss) {
            report.scores.fullLoss = r.fullLoss;
            report.scores.scoredTokens = r.scoredTokens;
            haveBase = true;
        }
    }
    if (wants("taylor")) {
        auto r = taylor(model, windows, {request.batchSize}, progress);
        mergeScores(report.scores, r, request.units);
        if (!haveBase) {
            report.scores.fullLoss = r.fullLoss;
            report.scores.scoredTokens = r.scoredTokens;
            haveBase = true;
        }
    }
    const bool permutation = wants("shapley") && request.estimator != ShapleyEstimator::PresentAbsent;
    const bool presentAbsentToo =
        wants("present_absent") || (wants("shapley") && request.estimator != ShapleyEstimator::Permutation);
    nlohmann::ordered_json shapleySettings, presentAbsentSettings, agreement;
    for (Unit u : request.units) {
        std::vector<double> perm, pa;
        if (permutation) {
            auto r = shapley(model, valueWindows, atUnit(request.shapley, request, u), progress);
            mergeScores(report.scores, r.scores, {u});
            perm = r.scores.scores.at(metricName("shapley", request.value))[u];
            shapleySettings[unitName(u)] = {{"exact", r.exact},
                                            {"permutations", r.permutations},
                                            {"coalitions", r.coalitions},
                                            {"forward_passes", r.scores.forwardPasses},
                                            {"naive_forward_passes", r.scores.naiveForwardPasses}};
        }
        if (presentAbsentToo) {
            const auto o = atUnit(request.presentAbsent, request, u);
            auto r = presentAbsent(model, valueWindows, o, progress);
            mergeScores(report.scores, r.scores, {u});
            pa = r.scores.scores.at(metricName("present_absent", request.value))[u];
            presentAbsentSettings[unitName(u)] = {
                {"subnetworks", o.subnetworks == Subnetworks::LeaveOneOut ? "leave-one-out" : "random"},
                {"fraction", o.fraction},
                {"evaluated", r.subnetworks},
                {"forward_passes", r.scores.forwardPasses},
                {"naive_forward_passes", r.scores.naiveForwardPasses}};
        }
        if (!perm.empty() && !pa.empty()) {
            const double rho = spearmanCorrelation(perm, pa);
            agreement[unitName(u)] = std::isnan(rho) ? nlohmann::ordered_json() : nlohmann::ordered_json(rho);
        }
    }
    if (!shapleySettings.empty()) settings["shapley"] = shapleySettings;
    if (!presentAbsentSettings.empty()) settings["present_absent"] = presentAbsentSettings;
    if (!agreement.empty()) settings["shapley_vs_present_absent_rank_correlation"] = agreement;
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

} // namespace layerlab
