#pragma once
// The recovery panel's jobs: fitting adapters for the current removal set (the loss curve drawn
// while a trained method runs), taking them out again, and saving the installed ones.

#include <QObject>

#include "recovery/recovery_job.h"

class QWidget;

namespace layerlab::ui {

class JobRunner;
class RecoveryPanel;
class Workspace;

class RecoveryController : public QObject {
    Q_OBJECT
public:
    // window: where the file dialog opens.
    RecoveryController(JobRunner& jobs, Workspace& workspace, RecoveryPanel* panel, QWidget* window);

    // Without a model or removed units, reports why and queues nothing.
    void recover(const RecoveryRequest& request);
    void removeAdapters();
    // Asks for a .safetensors file and writes the installed adapters to it.
    void saveAdapters();

Q_SIGNALS:
    void errorReported(const QString& title, const QString& message);
    void statusMessage(const QString& text);

private:
    JobRunner* jobs_;
    Workspace* workspace_;
    RecoveryPanel* panel_;
    QWidget* window_;
};

} // namespace layerlab::ui
