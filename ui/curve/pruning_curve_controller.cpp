#include "curve/pruning_curve_controller.h"

#include "curve/pruning_curve_model.h"
#include "curve/pruning_curve_page.h"
#include "jobs/job_runner.h"
#include "workspace/workspace.h"

namespace layerlab::ui {

PruningCurveController::PruningCurveController(JobRunner& jobs, Workspace& workspace, PruningCurvePage* page,
                                               QObject* parent)
    : QObject(parent), jobs_(&jobs), workspace_(&workspace), page_(page) {
    connect(page, &PruningCurvePage::runRequested, this, &PruningCurveController::run);
    connect(page, &PruningCurvePage::stopRequested, this,
            [this] { jobs_->cancelKind(QStringLiteral("curve")); });
}

void PruningCurveController::run(const PruningCurveRequest& request) {
    if (!workspace_->hasModel()) {
        Q_EMIT errorReported(tr("No pruning curve"), tr("Open a model first."));
        return;
    }
    if (request.metrics.empty()) {
        Q_EMIT errorReported(tr("No pruning curve"), tr("Tick at least one metric."));
        return;
    }
    auto* ws = workspace_;
    auto* page = page_;
    const auto model = ws->model();
    const auto tokenizer = ws->tokenizer();
    const auto inputs = ws->inputs();
    const auto settings = ws->dataSettings();
    const auto known = ws->scores();
    page->model()->clear();
    page->setRunning(true);
    jobs_->submit(
        tr("Pruning curve"),
        [=](const JobContext& ctx) {
            const auto in =
                inputsOrLoad(inputs, *model, tokenizer.get(), settings, ctx.progress(),
                             [&](auto loaded) { ctx.post([ws, loaded] { ws->setInputs(loaded); }); });
            runPruningCurve(
                *model, tokenizer.get(), *in, settings, known, request,
                [&](const ScoreTable& t) { ctx.post([ws, t] { ws->mergeScores(t); }); },
                [&](const PruningCurvePoint& p) { ctx.post([page, p] { page->model()->addPoint(p); }); },
                ctx.progress());
        },
        QStringLiteral("curve"));
    jobs_->submitGuiStep(
        tr("Pruning curve finished"), [page] { page->setRunning(false); }, true);
}

} // namespace layerlab::ui
