#include "recovery/recovery_controller.h"

#include "recovery/recovery_panel.h"
#include "workspace/workspace.h"

#include <QFileDialog>

namespace layerlab::ui {

RecoveryController::RecoveryController(JobRunner& jobs, Workspace& workspace, RecoveryPanel* panel,
                                       QWidget* window)
    : QObject(window), jobs_(&jobs), workspace_(&workspace), panel_(panel), window_(window) {
    connect(panel, &RecoveryPanel::fitRequested, this, &RecoveryController::recover);
    connect(panel, &RecoveryPanel::removeRequested, this, &RecoveryController::removeAdapters);
    connect(panel, &RecoveryPanel::saveRequested, this, &RecoveryController::saveAdapters);
}

void RecoveryController::recover(const RecoveryRequest& request) {
    if (!workspace_->hasModel() || workspace_->mask().empty()) {
        Q_EMIT errorReported(tr("Nothing to recover"),
                             tr("Remove some units first: adapters stand in for removed units."));
        return;
    }
    auto* panel = panel_;
    if (request.trained()) panel->clearLossCurve();
    submitRecovery(
        *jobs_, *workspace_, request, [panel](const RecoveryResult& r) { panel->showResult(r); },
        [panel](int64_t step, double loss) { panel->addTrainingStep(step, loss); });
}

void RecoveryController::removeAdapters() {
    submitRemoveAdapters(*jobs_, *workspace_);
}

void RecoveryController::saveAdapters() {
    auto path =
        QFileDialog::getSaveFileName(window_, tr("Save adapters"), {}, tr("safetensors (*.safetensors)"));
    if (path.isEmpty()) return;
    if (!path.endsWith(QStringLiteral(".safetensors"))) path += QStringLiteral(".safetensors");
    if (const auto error = saveInstalledAdapters(*workspace_, path); !error.isEmpty())
        Q_EMIT errorReported(tr("Saving adapters failed"), error);
    else
        Q_EMIT statusMessage(tr("Wrote %1").arg(path));
}

} // namespace layerlab::ui
