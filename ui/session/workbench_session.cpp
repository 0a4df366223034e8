#include "session/workbench_session.h"

#include "common/error.h"
#include "cost/cost_model.h"
#include "export/pruning_cost.h"
#include "workspace/workspace.h"

namespace layerlab::ui {

namespace {

SessionEvaluation toSession(const QuickEvaluation& e, const std::string& role) {
    SessionEvaluation s;
    s.role = role;
    s.level = e.level;
    s.removed = e.mask.toSpec();
    s.hasLoss = e.hasLoss;
    s.loss = e.loss;
    s.perplexity = e.perplexity;
    s.tokens = e.tokens;
    s.windows = e.windows;
    if (!e.tasksPending) // a result whose tasks are still running is stored with its loss only
        for (const auto& t : e.tasks)
            s.tasks.push_back({t.task, t.acc, t.accNorm, t.accStderr, t.accNormStderr, t.items});
    return s;
}

QuickEvaluation fromSession(const SessionEvaluation& s, int64_t numLayers) {
    QuickEvaluation e;
    e.level = s.level;
    e.mask = LayerMask::parse(s.removed, numLayers);
    e.hasLoss = s.hasLoss;
    e.loss = s.loss;
    e.perplexity = s.perplexity;
    e.tokens = s.tokens;
    e.windows = s.windows;
    for (const auto& t : s.tasks)
        e.tasks.push_back({t.task, t.acc, t.accNorm, t.accStderr, t.accNormStderr, t.items});
    return e;
}

void checkLayers(const std::map<std::string, SessionPerUnit>& scores, int64_t numLayers) {
    for (const auto& [metric, perUnit] : scores)
        for (const auto& values : perUnit)
            if (!values.empty() && static_cast<int64_t>(values.size()) != numLayers)
                throw Error("the session's '" + metric + "' scores are for " + std::to_string(values.size()) +
                            " layers; the model has " + std::to_string(numLayers));
}

} // namespace

Session captureSession(const Workspace& ws, const std::filesystem::path& adapters, const PageRecords& pages) {
    Session s;
    s.modelDir = ws.summary().dir;
    s.device = ws.summary().device;
    s.dtype = ws.summary().computeDtype;
    const auto& d = ws.dataSettings();
    s.calibrationFile = d.calibrationFile;
    s.taskFiles = d.taskFiles;
    s.seqLen = d.seqLen;
    s.importanceWindows = d.importanceWindows;
    s.evaluationWindows = d.evaluationWindows;
    s.evaluationItems = d.evaluationItems;
    s.removed = ws.mask().toSpec();
    s.adapters = adapters;
    s.scores = ws.scores().values;
    s.scoreStdErr = ws.scores().stdErr;
    s.angularN = ws.scores().angularN;
    for (int level = 0; level < kQuickLevels; ++level)
        if (const auto& b = ws.baseline(level)) s.evaluations.push_back(toSession(*b, "baseline"));
    if (const auto& l = ws.latest(); l && !l->mask.empty()) s.evaluations.push_back(toSession(*l, "latest"));
    if (!ws.summary().empty()) s.cost = pruningCostJson(removalCost(ws.summary(), ws.mask()));
    s.recovery = pages.recovery;
    if (pages.pruningCurve.is_array() && !pages.pruningCurve.empty()) s.pruningCurve = pages.pruningCurve;
    if (pages.generations.is_array() && !pages.generations.empty()) s.generations = pages.generations;
    return s;
}

void applySession(Workspace& ws, const Session& s) {
    const int64_t L = ws.numLayers();
    // Everything is checked before anything changes.
    const auto mask = LayerMask::parse(s.removed, L);
    checkLayers(s.scores, L);
    checkLayers(s.scoreStdErr, L);
    std::vector<QuickEvaluation> evaluations;
    for (const auto& e : s.evaluations)
        evaluations.push_back(fromSession(e, L));

    DataSettings d;
    d.calibrationFile = s.calibrationFile;
    d.taskFiles = s.taskFiles;
    d.seqLen = s.seqLen;
    d.importanceWindows = s.importanceWindows;
    d.evaluationWindows = s.evaluationWindows;
    d.evaluationItems = s.evaluationItems;
    ws.setDataSettings(d);
    ScoreTable t;
    t.values = s.scores;
    t.stdErr = s.scoreStdErr;
    t.angularN = s.angularN;
    ws.clearScores();
    ws.mergeScores(t);
    ws.setMask(mask);
    ws.clearEvaluations();
    for (const auto& e : evaluations)
        ws.addEvaluation(e);
}

std::filesystem::path adaptersPathFor(const std::filesystem::path& sessionFile) {
    auto p = sessionFile;
    p.replace_extension(".adapters.safetensors");
    return p;
}

} // namespace layerlab::ui
