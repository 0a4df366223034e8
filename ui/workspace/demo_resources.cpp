#include "workspace/demo_resources.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

namespace layerlab::ui {

namespace {

QString existingFile(const QString& name) {
    const QString dir = demoModelDir();
    if (dir.isEmpty()) return {};
    const QString path = QDir(dir).filePath(name);
    return QFileInfo::exists(path) ? path : QString();
}

} // namespace

QString demoModelDir() {
    QStringList candidates;
    if (const auto env = qEnvironmentVariable("LAYERLAB_DEMO_MODEL"); !env.isEmpty()) candidates << env;
    candidates << QStringLiteral(LAYERLAB_RESOURCE_DIR "/demo");
    if (QCoreApplication::instance())
        candidates << QDir(QCoreApplication::applicationDirPath())
                          .filePath(QStringLiteral("../share/layerlab/demo"));
    for (const auto& dir : candidates)
        if (QFileInfo::exists(QDir(dir).filePath(QStringLiteral("config.json"))))
            return QDir(dir).canonicalPath();
    return {};
}

QString demoCalibrationFile() {
    return existingFile(QStringLiteral("heldout.txt"));
}

QString demoTaskFile() {
    return existingFile(QStringLiteral("next_verse.jsonl"));
}

} // namespace layerlab::ui
