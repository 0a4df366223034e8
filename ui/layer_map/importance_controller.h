#pragma once
// The layer map's job: "Compute importance" runs the chosen metrics on the worker, and each
// stage's scores go into the workspace as soon as it is done, so the map and the chart fill while
// the job runs.

#include <QObject>

#include "layer_map/importance_job.h"

namespace layerlab::ui {

class JobRunner;
class LayerMapPage;
class Workspace;

class ImportanceController : public QObject {
    Q_OBJECT
public:
    ImportanceController(JobRunner& jobs, Workspace& workspace, LayerMapPage* page,
                         QObject* parent = nullptr);

    // Without a model or a metric, reports why and queues nothing.
    void compute(const ImportanceJobRequest& request);

Q_SIGNALS:
    void errorReported(const QString& title, const QString& message);

private:
    JobRunner* jobs_;
    Workspace* workspace_;
};

} // namespace layerlab::ui
