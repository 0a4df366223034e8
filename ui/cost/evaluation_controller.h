#pragma once
// The cost panel's job: the quick evaluation of the full model and the current removal set, on a
// small sample and then a larger one. "Evaluate" runs it; with "Auto-evaluate" every change of the
// removal set (or of the adapters standing in for it) does.

#include <QObject>

namespace layerlab::ui {

class CostPanel;
class JobRunner;
class Workspace;

class EvaluationController : public QObject {
    Q_OBJECT
public:
    EvaluationController(JobRunner& jobs, Workspace& workspace, CostPanel* panel, QObject* parent = nullptr);

    // Does nothing without a model. Supersedes an evaluation that is still running.
    void evaluate();

private:
    JobRunner* jobs_;
    Workspace* workspace_;
    CostPanel* panel_;
};

} // namespace layerlab::ui
