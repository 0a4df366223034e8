#include "export/export_controller.h"

#include "export/export_dialog.h"
#include "jobs/job_runner.h"
#include "workspace/workspace.h"

namespace layerlab::ui {

ExportController::ExportController(JobRunner& jobs, Workspace& workspace, QWidget* window)
    : QObject(window), jobs_(&jobs), workspace_(&workspace), window_(window) {}

void ExportController::chooseAndExport() {
    const auto model = workspace_->model();
    if (!model) {
        Q_EMIT errorReported(tr("Nothing to export"), tr("Open a model first."));
        return;
    }
    const auto mask = workspace_->mask();
    ExportDialog dialog(
        [model, mask](const ExportSettings& s) { return exportManifestPreview(*model, mask, s); }, window_);
    if (dialog.exec() == QDialog::Accepted) exportModel(dialog.settings());
}

void ExportController::exportModel(const ExportSettings& settings) {
    if (!workspace_->hasModel()) return;
    const auto model = workspace_->model();
    const auto mask = workspace_->mask();
    jobs_->submit(tr("Exporting to %1").arg(settings.out), [=, this](const JobContext& ctx) {
        const auto o = runExport(*model, mask, settings, ctx.progress());
        ctx.post([this, o] {
            Q_EMIT statusMessage(tr("Exported %1 layers (%2) to %3: %4 files, %5 GB")
                                     .arg(o.layers)
                                     .arg(QString::fromStdString(o.format), QString::fromStdString(o.out))
                                     .arg(o.files)
                                     .arg(static_cast<double>(o.bytes) / 1e9, 0, 'f', 3));
        });
    });
}

} // namespace layerlab::ui
