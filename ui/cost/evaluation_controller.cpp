#include "cost/evaluation_controller.h"

#include "cost/cost_panel.h"
#include "cost/quick_evaluation.h"
#include "jobs/job_runner.h"
#include "workspace/workspace.h"

#include <QSettings>

#include <optional>
#include <vector>

namespace layerlab::ui {

EvaluationController::EvaluationController(JobRunner& jobs, Workspace& workspace, CostPanel* panel,
                                           QObject* parent)
    : QObject(parent), jobs_(&jobs), workspace_(&workspace), panel_(panel) {
    connect(panel, &CostPanel::evaluateRequested, this, &EvaluationController::evaluate);
    connect(panel, &CostPanel::autoEvaluateToggled, this, [this](bool on) {
        QSettings().setValue(QStringLiteral("autoEvaluate"), on);
        if (on && workspace_->hasModel()) evaluate();
    });
    connect(workspace_, &Workspace::maskChanged, this, [this] {
        if (panel_->autoEvaluate() && workspace_->hasModel()) evaluate();
    });
    connect(workspace_, &Workspace::adaptersChanged, this, [this] {
        // The latest evaluation was of the model without these adapters.
        if (panel_->autoEvaluate() && workspace_->hasModel() && !workspace_->mask().empty()) evaluate();
    });
}

void EvaluationController::evaluate() {
    if (!workspace_->hasModel()) return;
    auto* ws = workspace_;
    auto* panel = panel_;
    const auto model = ws->model();
    const auto tokenizer = ws->tokenizer();
    const auto inputs = ws->inputs();
    const auto settings = ws->dataSettings();
    const auto mask = ws->mask();
    const LayerMask full(ws->numLayers());
    std::vector<std::optional<QuickEvaluation>> baselines;
    for (int level = 0; level < kQuickLevels; ++level)
        baselines.push_back(ws->baseline(level));
    panel->setEvaluationStatus(tr("Evaluating on a small sample..."));
    // A newer evaluation supersedes a running one: only the latest removal set matters.
    jobs_->submit(
        tr("Quick evaluation"),
        [=](const JobContext& ctx) {
            const auto in =
                inputsOrLoad(inputs, *model, tokenizer.get(), settings, ctx.progress(),
                             [&](auto loaded) { ctx.post([ws, loaded] { ws->setInputs(loaded); }); });
            for (int level = 0; level < kQuickLevels; ++level) {
                const auto sizes = quickLevel(settings, level);
                // The quick loss is shown as soon as it is known; the refined one waits for its
                // tasks, so that the quick task numbers are not replaced by pending ones.
                std::function<void(const QuickEvaluation&)> early;
                if (level == 0)
                    early = [&](const QuickEvaluation& r) { ctx.post([ws, r] { ws->addEvaluation(r); }); };
                if (!baselines[level]) {
                    const auto r = runQuickEvaluation(*model, tokenizer.get(), *in, level, sizes, full,
                                                      ctx.progress(), early);
                    ctx.post([ws, r] { ws->addEvaluation(r); });
                } else if (mask.empty()) {
                    // Back to the full model: its known result is the current one again.
                    ctx.post([ws, r = *baselines[level]] { ws->addEvaluation(r); });
                }
                if (!mask.empty()) {
                    const auto r = runQuickEvaluation(*model, tokenizer.get(), *in, level, sizes, mask,
                                                      ctx.progress(), early);
                    ctx.post([ws, r] { ws->addEvaluation(r); });
                }

                const QString text =
                    level + 1 < kQuickLevels
                        ? tr("Quick estimate (%1 windows, up to %2 items per task); refining...")
                              .arg(sizes.windows)
                              .arg(sizes.items)
                        : tr("Refined (%1 windows, up to %2 items per task).")
                              .arg(sizes.windows)
                              .arg(sizes.items);
                ctx.post([panel, text] { panel->setEvaluationStatus(text); });
            }
        },
        QStringLiteral("evaluate"));
}

} // namespace layerlab::ui
