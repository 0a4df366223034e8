#pragma once
// Opening models: a model folder (File > Open model, Recent models, the demo model, a folder
// dropped on the window, the side panel's "Load again with these") is loaded as a job and put in
// the workspace, and remembered for Recent models.

#include <QObject>
#include <QStringList>

#include <functional>

class QWidget;

namespace layerlab::ui {

class JobRunner;
class ModelPanel;
class Workspace;

class ModelController : public QObject {
    Q_OBJECT
public:
    // panel: the device and dtype to load with when none is given; window: the dialogs' parent.
    ModelController(JobRunner& jobs, Workspace& workspace, ModelPanel* panel, QWidget* window);

    // Cancels the jobs of the model open now, then loads in the background. `then` runs on the GUI
    // thread once the model is in the workspace. Not a model folder: reported, nothing queued.
    void open(const QString& dir, const QString& device = {}, const QString& dtype = {},
              std::function<void()> then = {});
    void chooseAndOpen(); // a folder dialog first
    void openDemo();

    // Most recent first.
    static QStringList recentModels();
    // The folder itself, or the folder of a file inside it; empty when the path is neither.
    static QString folderOf(const QString& path);

Q_SIGNALS:
    void errorReported(const QString& title, const QString& message);

private:
    JobRunner* jobs_;
    Workspace* workspace_;
    ModelPanel* panel_;
    QWidget* window_;
};

} // namespace layerlab::ui
