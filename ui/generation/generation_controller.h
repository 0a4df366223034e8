#pragma once
// The "Generate" tab's job: the prompt continued by the model under the current removal set, the
// result appended to the page.

#include <QObject>

#include "generation/generation_job.h"

namespace layerlab::ui {

class GenerationPage;
class JobRunner;
class Workspace;

class GenerationController : public QObject {
    Q_OBJECT
public:
    GenerationController(JobRunner& jobs, Workspace& workspace, GenerationPage* page,
                         QObject* parent = nullptr);

    // Without a model, reports why and queues nothing. Supersedes a generation still running.
    void generate(const GenerationRequest& request);

Q_SIGNALS:
    void errorReported(const QString& title, const QString& message);

private:
    JobRunner* jobs_;
    Workspace* workspace_;
    GenerationPage* page_;
};

} // namespace layerlab::ui
