#include "session/session_controller.h"

#include "curve/pruning_curve_model.h"
#include "generation/generation_page.h"
#include "recovery/recovery_job.h"
#include "recovery/recovery_panel.h"
#include "session/session_file.h"
#include "session/workbench_session.h"
#include "side_panel/model_controller.h"
#include "workspace/workspace.h"

#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QMessageBox>
#include <QStandardPaths>
#include <QTimer>

#include <iostream>

namespace layerlab::ui {

SessionController::SessionController(JobRunner& jobs, Workspace& workspace, ModelController& models,
                                     RecoveryPanel* recovery, PruningCurveModel* curve,
                                     GenerationPage* generation, QWidget* window)
    : QObject(window), jobs_(&jobs), workspace_(&workspace), models_(&models), recovery_(recovery),
      curve_(curve), generation_(generation), window_(window) {
    // Crash recovery: a copy of the session every minute while something changed.
    for (auto signal :
         {&Workspace::maskChanged, &Workspace::scoresChanged, &Workspace::evaluationChanged,
          &Workspace::adaptersChanged, &Workspace::dataSettingsChanged, &Workspace::modelChanged})
        connect(workspace_, signal, this, [this] { dirty_ = true; });
    connect(generation_, &GenerationPage::resultsChanged, this, [this] { dirty_ = true; });
    auto* autosaveTimer = new QTimer(this);
    autosaveTimer->setInterval(60 * 1000);
    connect(autosaveTimer, &QTimer::timeout, this, &SessionController::autosave);
    autosaveTimer->start();
}

QString SessionController::autosavePath() {
    const QString dir = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
    QDir().mkpath(dir);
    return QDir(dir).filePath(QStringLiteral("autosave.layerlab"));
}

Session SessionController::capture(const std::filesystem::path& adapters) const {
    return captureSession(*workspace_, adapters,
                          {recovery_->sessionRecord(), curveRecord(curve_->points(), workspace_->summary()),
                           generation_->sessionRecord()});
}

Session SessionController::current() const {
    return capture({});
}

QString SessionController::save(const QString& path) {
    if (!workspace_->hasModel()) return tr("There is no model open: nothing to save.");
    const std::filesystem::path file = path.toStdString();
    const auto adapters = adaptersPathFor(file);
    const bool hasAdapters = hasInstalledAdapters(*workspace_);
    if (hasAdapters) {
        if (const auto error = saveInstalledAdapters(*workspace_, QString::fromStdString(adapters.string()));
            !error.isEmpty())
            return error;
    }
    try {
        // The adapters file is named relative to the session, so the two move together.
        writeSessionFile(file, capture(hasAdapters ? adapters.filename() : std::filesystem::path()));
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
    if (path != autosavePath()) {
        path_ = path;
        Q_EMIT statusMessage(tr("Saved session %1").arg(path));
    }
    return {};
}

void SessionController::open(const QString& path) {
    Session session;
    try {
        session = readSessionFile(path.toStdString());
    } catch (const std::exception& e) {
        Q_EMIT errorReported(tr("Cannot open the session"), QString::fromStdString(e.what()));
        return;
    }
    if (path != autosavePath()) path_ = path;
    const QString adapters = QString::fromStdString(session.adapters.string());
    models_->open(QString::fromStdString(session.modelDir.string()), QString::fromStdString(session.device),
                  QString::fromStdString(session.dtype), [this, session, adapters, path] {
                      try {
                          applySession(*workspace_, session);
                      } catch (const std::exception& e) {
                          Q_EMIT errorReported(tr("The session does not fit the model"),
                                               tr("%1: %2").arg(path, QString::fromStdString(e.what())));
                          return;
                      }
                      if (!adapters.isEmpty())
                          submitInstallAdapters(*jobs_, *workspace_, adapters, [this](const QString& error) {
                              Q_EMIT errorReported(tr("Cannot install the session's adapters"), error);
                          });
                      recovery_->restoreSessionRecord(session.recovery);
                      restoreCurveRecord(*curve_, session.pruningCurve, workspace_->numLayers());
                      try {
                          generation_->restoreSessionRecord(session.generations, workspace_->numLayers(),
                                                            path.toStdString());
                      } catch (const std::exception& e) {
                          Q_EMIT errorReported(tr("Cannot show the session's generated samples"),
                                               QString::fromStdString(e.what()));
                      }
                      Q_EMIT statusMessage(tr("Opened session %1").arg(path));
                      dirty_ = false;
                  });
}

void SessionController::chooseAndOpen() {
    const auto path = QFileDialog::getOpenFileName(window_, tr("Open session"), path_,
                                                   tr("LayerLab sessions (*.layerlab)"));
    if (!path.isEmpty()) open(path);
}

void SessionController::saveAs() {
    auto path = QFileDialog::getSaveFileName(window_, tr("Save session"), path_,
                                             tr("LayerLab sessions (*.layerlab)"));
    if (path.isEmpty()) return;
    if (!path.endsWith(QStringLiteral(".layerlab"))) path += QStringLiteral(".layerlab");
    if (const auto error = save(path); !error.isEmpty())
        Q_EMIT errorReported(tr("Saving the session failed"), error);
}

void SessionController::saveCurrent() {
    if (path_.isEmpty()) return saveAs();
    if (const auto error = save(path_); !error.isEmpty())
        Q_EMIT errorReported(tr("Saving the session failed"), error);
}

bool SessionController::restoreAutosave(bool ask) {
    const QString path = autosavePath();
    if (!QFileInfo::exists(path)) return false;
    if (ask && QMessageBox::question(window_, tr("Restore the last session?"),
                                     tr("LayerLab did not exit cleanly last time. Restore the session it "
                                        "was working on?")) != QMessageBox::Yes) {
        QFile::remove(path);
        return false;
    }
    open(path);
    return true;
}

void SessionController::autosave() {
    if (!dirty_ || !workspace_->hasModel()) return;
    dirty_ = false;
    // The adapters are read on this (GUI) thread, where installing them also happens.
    if (const auto error = save(autosavePath()); !error.isEmpty())
        std::cerr << "autosave: " << error.toStdString() << "\n";
}

void SessionController::removeAutosave() {
    QFile::remove(autosavePath());
    QFile::remove(QString::fromStdString(adaptersPathFor(autosavePath().toStdString()).string()));
}

} // namespace layerlab::ui
