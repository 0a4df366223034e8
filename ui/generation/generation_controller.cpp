#include "generation/generation_controller.h"

#include "generation/generation_page.h"
#include "jobs/job_runner.h"
#include "workspace/workspace.h"

namespace layerlab::ui {

GenerationController::GenerationController(JobRunner& jobs, Workspace& workspace, GenerationPage* page,
                                           QObject* parent)
    : QObject(parent), jobs_(&jobs), workspace_(&workspace), page_(page) {
    connect(page, &GenerationPage::generateRequested, this, &GenerationController::generate);
}

void GenerationController::generate(const GenerationRequest& request) {
    if (!workspace_->hasModel()) {
        Q_EMIT errorReported(tr("Nothing to generate with"), tr("Open a model first."));
        return;
    }
    auto* page = page_;
    const auto model = workspace_->model();
    const auto tokenizer = workspace_->tokenizer();
    const auto mask = workspace_->mask();
    jobs_->submit(
        tr("Generating"),
        [=](const JobContext& ctx) {
            const auto r = runGeneration(*model, tokenizer.get(), mask, request, ctx.progress());
            ctx.post([page, r] { page->showResult(r); });
        },
        QStringLiteral("generate"));
}

} // namespace layerlab::ui
