#pragma once
// The "Pruning curve" tab's job: the curve runs on the worker, its points go to the page as they
// come and the scores it computed on the way go to the layer map; Stop cancels it alone.

#include <QObject>

#include "curve/pruning_curve_job.h"

namespace layerlab::ui {

class JobRunner;
class PruningCurvePage;
class Workspace;

class PruningCurveController : public QObject {
    Q_OBJECT
public:
    PruningCurveController(JobRunner& jobs, Workspace& workspace, PruningCurvePage* page,
                           QObject* parent = nullptr);

    // Replaces the curve shown. Without a model or a metric, reports why and queues nothing.
    void run(const PruningCurveRequest& request);

Q_SIGNALS:
    void errorReported(const QString& title, const QString& message);

private:
    JobRunner* jobs_;
    Workspace* workspace_;
    PruningCurvePage* page_;
};

} // namespace layerlab::ui
