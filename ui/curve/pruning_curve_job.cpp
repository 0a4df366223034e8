#include "curve/pruning_curve_job.h"

#include "common/error.h"
#include "export/pruning_plan.h"
#include "importance/importance_request.h"
#include "layer_map/importance_job.h"
#include "model/model.h"

#include <algorithm>
#include <map>

namespace layerlab::ui {

void runPruningCurve(const Model& model, const Tokenizer* tokenizer, const EvaluationInputs& inputs,
                     const DataSettings& settings, const ScoreTable& known,
                     const PruningCurveRequest& request,
                     const std::function<void(const ScoreTable&)>& onScores,
                     const std::function<void(const PruningCurvePoint&)>& onPoint, const Progress& progress) {
    const int64_t L = model.numLayers();
    if (request.metrics.empty()) throw Error("choose at least one metric for the pruning curve");
    if (request.maxUnits < 0 || request.maxUnits > L)
        throw Error("the pruning curve can remove 0 to " + std::to_string(L) + " units");
    const auto& names = importanceMetricNames();
    for (const auto& m : request.metrics) {
        if (m == "angular" && request.unit != Unit::Block)
            throw Error("angular removes runs of blocks: choose the block granularity for it");
        if (known.at(m, request.unit).empty() && std::find(names.begin(), names.end(), m) == names.end())
            throw Error("no " + m + " scores for " + unitName(request.unit) +
                        " units: compute them in the layer map first");
    }
    EvaluationInputs in = inputs;
    if (!request.tasks) in.tasks.clear();
    const auto sizes = quickLevel(settings, kQuickLevels - 1);
    const auto calibration = sampleWindows(inputs.windows, settings.importanceWindows);

    const int64_t total = static_cast<int64_t>(request.metrics.size()) * (request.maxUnits + 1);
    int64_t done = 0;
    std::string label;
    // The outer count (evaluations) with the inner stage in words.
    const Progress inner(
        [&](const ProgressInfo& info) {
            progress.report(label + ": " + info.stage, done, total, "evaluations");
        },
        progress.token());
    std::map<std::string, QuickEvaluation> evaluated; // by removal spec: metrics often agree
    auto evaluate = [&](const LayerMask& mask) {
        const auto spec = mask.toSpec();
        if (auto it = evaluated.find(spec); it != evaluated.end()) return it->second;
        auto r = runQuickEvaluation(model, tokenizer, in, kQuickLevels - 1, sizes, mask, inner);
        evaluated.emplace(spec, r);
        return r;
    };

    for (const auto& metric : request.metrics) {
        std::vector<double> scores;
        if (metric != "angular") {
            scores = known.at(metric, request.unit);
            if (scores.empty()) {
                label = metric + " scores";
                ImportanceJobRequest r;
                r.metrics = {metric};
                r.units = {request.unit};
                r.batchSize = request.batchSize;
                runImportanceStages(
                    model, calibration, {}, r,
                    [&](const ScoreTable& t) {
                        scores = t.at(metric, request.unit);
                        onScores(t);
                    },
                    inner);
            }
        }
        for (int64_t k = 0; k <= request.maxUnits; ++k) {
            progress.checkCancelled();
            label = metric + " k=" + std::to_string(k);
            progress.report(label, done, total, "evaluations");
            LayerMask mask(L);
            if (metric == "angular" && k > 0) {
                ImportanceRequest a;
                a.metrics = {"angular"};
                a.units = {Unit::Block};
                a.angularN = k;
                a.batchSize = request.batchSize;
                const auto r = computeImportance(model, calibration, a, inner);
                mask = removeConsecutiveBlocks(L, r.settings.at("best_angular_start").get<int64_t>(), k);
            } else if (metric != "angular") {
                mask = removeLeastImportant(LayerMask(L), request.unit, scores, k);
            }
            PruningCurvePoint p;
            p.metric = metric;
            p.unit = request.unit;
            p.unitsRemoved = k;
            p.mask = mask;
            p.evaluation = evaluate(mask);
            ++done;
            onPoint(p);
        }
    }
    progress.report("pruning curve", done, total, "evaluations");
}

} // namespace layerlab::ui
