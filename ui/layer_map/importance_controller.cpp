#include "layer_map/importance_controller.h"

#include "jobs/job_runner.h"
#include "layer_map/layer_map_page.h"
#include "workspace/evaluation_inputs.h"
#include "workspace/workspace.h"

#include <algorithm>

namespace layerlab::ui {

ImportanceController::ImportanceController(JobRunner& jobs, Workspace& workspace, LayerMapPage* page,
                                           QObject* parent)
    : QObject(parent), jobs_(&jobs), workspace_(&workspace) {
    connect(page, &LayerMapPage::computeRequested, this, &ImportanceController::compute);
}

void ImportanceController::compute(const ImportanceJobRequest& requestIn) {
    if (!workspace_->hasModel()) {
        Q_EMIT errorReported(tr("Nothing to compute"), tr("Open a model first."));
        return;
    }
    if (requestIn.metrics.empty()) {
        Q_EMIT errorReported(tr("Nothing to compute"), tr("Tick at least one metric."));
        return;
    }
    auto request = requestIn;
    auto* ws = workspace_;
    const auto model = ws->model();
    const auto tokenizer = ws->tokenizer();
    const auto inputs = ws->inputs();
    const auto settings = ws->dataSettings();
    const int64_t maxLength = ws->summary().config.maxPositionEmbeddings;
    QString names;
    for (const auto& m : request.metrics)
        names += (names.isEmpty() ? "" : ", ") + QString::fromStdString(m);
    const bool valued = std::any_of(request.metrics.begin(), request.metrics.end(), usesValueFunction);
    if (valued && request.valueFunction != "loss")
        names += tr("; value %1").arg(QString::fromStdString(request.valueFunction));
    jobs_->submit(tr("Importance (%1)").arg(names), [=](const JobContext& ctx) {
        const auto in = inputsOrLoad(inputs, *model, tokenizer.get(), settings, ctx.progress(),
                                     [&](auto loaded) { ctx.post([ws, loaded] { ws->setInputs(loaded); }); });
        const auto windows = sampleWindows(in->windows, settings.importanceWindows);
        std::vector<TokenWindow> valueWindows;
        if (valued && request.valueFunction == "task_loss")
            valueWindows = taskLossWindows(tokenizer.get(), *in, settings.evaluationItems, maxLength);
        runImportanceStages(
            *model, windows, valueWindows, request,
            [&](const ScoreTable& stage) { ctx.post([ws, stage] { ws->mergeScores(stage); }); },
            ctx.progress());
    });
}

} // namespace layerlab::ui
