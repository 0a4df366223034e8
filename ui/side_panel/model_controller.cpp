#include "side_panel/model_controller.h"

#include "jobs/job_runner.h"
#include "side_panel/model_panel.h"
#include "workspace/demo_resources.h"
#include "workspace/model_loading.h"
#include "workspace/workspace.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QSettings>

#include <iostream>

namespace layerlab::ui {

namespace {

constexpr int kMaxRecent = 8;

void rememberRecent(const QString& dir) {
    QSettings settings;
    auto recent = settings.value(QStringLiteral("recentModels")).toStringList();
    recent.removeAll(dir);
    recent.prepend(dir);
    while (recent.size() > kMaxRecent)
        recent.removeLast();
    settings.setValue(QStringLiteral("recentModels"), recent);
    settings.setValue(QStringLiteral("lastDir"), QFileInfo(dir).absolutePath());
}

} // namespace

ModelController::ModelController(JobRunner& jobs, Workspace& workspace, ModelPanel* panel, QWidget* window)
    : QObject(window), jobs_(&jobs), workspace_(&workspace), panel_(panel), window_(window) {
    connect(panel, &ModelPanel::reloadRequested, this, [this](const QString& device, const QString& dtype) {
        if (workspace_->hasModel()) open(QString::fromStdString(workspace_->summary().dir), device, dtype);
    });
}

QStringList ModelController::recentModels() {
    return QSettings().value(QStringLiteral("recentModels")).toStringList();
}

QString ModelController::folderOf(const QString& path) {
    const QFileInfo info(path);
    if (info.isDir()) return info.absoluteFilePath();
    if (info.isFile()) return info.absolutePath();
    return {};
}

void ModelController::chooseAndOpen() {
    const auto dir =
        QFileDialog::getExistingDirectory(window_, tr("Open a Hugging Face model folder"),
                                          QSettings().value(QStringLiteral("lastDir")).toString());
    if (!dir.isEmpty()) open(dir);
}

void ModelController::openDemo() {
    const auto demo = demoModelDir();
    if (demo.isEmpty())
        Q_EMIT errorReported(tr("Cannot open the demo model"), tr("The bundled demo model was not found."));
    else
        open(demo);
}

void ModelController::open(const QString& dir, const QString& deviceIn, const QString& dtypeIn,
                           std::function<void()> then) {
    const QString folder = folderOf(dir);
    if (folder.isEmpty()) {
        Q_EMIT errorReported(tr("Cannot open model"), tr("%1: no such folder").arg(dir));
        return;
    }
    if (!QFileInfo::exists(QDir(folder).filePath(QStringLiteral("config.json")))) {
        Q_EMIT errorReported(tr("Cannot open model"),
                             tr("%1: not a Hugging Face model folder (it has no config.json)").arg(folder));
        return;
    }
    const QString device = deviceIn.isEmpty() ? panel_->device() : deviceIn;
    const QString dtype = dtypeIn.isEmpty() ? panel_->dtype() : dtypeIn;
    // Jobs of the old model would post into the new one's state.
    jobs_->cancelAll();
    const auto path = std::filesystem::path(folder.toStdString());
    const bool sameModel = workspace_->hasModel() && workspace_->summary().dir == path.string();
    const LayerMask keepMask = workspace_->mask();
    const auto dev = device.toStdString();
    const auto dt = dtype.toStdString();
    auto* ws = workspace_;
    jobs_->submit(
        tr("Opening %1").arg(QFileInfo(folder).fileName()),
        [=](const JobContext& ctx) {
            auto loaded = std::make_shared<LoadedModel>(loadModelFolder(path, dev, dt, ctx.progress()));
            ctx.post([=] {
                ws->setModel(loaded->model, loaded->tokenizer, loaded->summary);
                // Loading again elsewhere keeps the removal set the user built.
                if (sameModel && keepMask.numLayers() == ws->numLayers()) ws->setMask(keepMask);
                rememberRecent(folder);
                QSettings().setValue(QStringLiteral("device"), device);
                QSettings().setValue(QStringLiteral("dtype"), dtype);
                for (const auto& name : loaded->summary.unusedTensors)
                    std::cerr << "note: tensor '" << name << "' in the checkpoint is not used\n";
                if (then) then();
            });
        },
        QStringLiteral("load"));
}

} // namespace layerlab::ui
