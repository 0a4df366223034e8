#pragma once
// File > Export pruned model: the export dialog with its manifest preview, then the export of the
// open model (its removal set and adapters) as a job; the outcome goes to the status bar.

#include <QObject>

#include "export/export_job.h"

class QWidget;

namespace layerlab::ui {

class JobRunner;
class Workspace;

class ExportController : public QObject {
    Q_OBJECT
public:
    // window: the dialog's parent.
    ExportController(JobRunner& jobs, Workspace& workspace, QWidget* window);

    // The dialog first; without a model, reports that there is nothing to export.
    void chooseAndExport();
    // Without the dialog; does nothing without a model.
    void exportModel(const ExportSettings& settings);

Q_SIGNALS:
    void errorReported(const QString& title, const QString& message);
    void statusMessage(const QString& text);

private:
    JobRunner* jobs_;
    Workspace* workspace_;
    QWidget* window_;
};

} // namespace layerlab::ui
