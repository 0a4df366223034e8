#pragma once
// The window's sessions: saving and opening `.layerlab` files (the model is opened first, then the
// rest applied and the adapters installed), and the crash-recovery copy written every minute
// while something changed and removed on a clean exit.

#include <QObject>
#include <QString>

#include "session/session_file.h"

class QWidget;

namespace layerlab::ui {

class GenerationPage;
class JobRunner;
class ModelController;
class PruningCurveModel;
class RecoveryPanel;
class Workspace;

class SessionController : public QObject {
    Q_OBJECT
public:
    // recovery, curve, generation: their results are saved with a session and shown again;
    // window: the dialogs' parent.
    SessionController(JobRunner& jobs, Workspace& workspace, ModelController& models, RecoveryPanel* recovery,
                      PruningCurveModel* curve, GenerationPage* generation, QWidget* window);

    // An error message naming the file, or "".
    QString save(const QString& path);
    // The session as save() would write it, without the adapters file (reports).
    Session current() const;
    // Errors are reported.
    void open(const QString& path);
    void chooseAndOpen(); // File > Open session
    void saveCurrent();   // File > Save session: asks where when nothing was opened or saved yet
    void saveAs();
    // Opens the crash-recovery copy when there is one (after asking, with ask); true when it did.
    bool restoreAutosave(bool ask);
    void removeAutosave();
    static QString autosavePath();
    QString path() const { return path_; } // the session file last opened or saved

Q_SIGNALS:
    void errorReported(const QString& title, const QString& message);
    void statusMessage(const QString& text);

private:
    void autosave();
    Session capture(const std::filesystem::path& adapters) const;

    JobRunner* jobs_;
    Workspace* workspace_;
    ModelController* models_;
    RecoveryPanel* recovery_;
    PruningCurveModel* curve_;
    GenerationPage* generation_;
    QWidget* window_;
    QString path_;
    bool dirty_ = false; // changed since the last autosave
};

} // namespace layerlab::ui
