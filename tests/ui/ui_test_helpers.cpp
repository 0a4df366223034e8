#include "ui_test_helpers.h"

#include <QDir>
#include <QFileInfo>
#include <QtGlobal>

namespace layerlab::ui::test {

ModelSummary demoSummary() {
    ModelSummary s;
    s.dir = "demo";
    auto& c = s.config;
    c.architecture = Architecture::Llama;
    c.numLayers = 10;
    c.hiddenSize = 256;
    c.intermediateSize = 1024;
    c.numHeads = 8;
    c.numKvHeads = 2;
    c.headDim = 32;
    c.vocabSize = 8192;
    c.maxPositionEmbeddings = 1024;
    c.dtype = "bfloat16";
    auto& p = s.parameters;
    p.embedding = 8192 * 256;
    p.lmHead = 8192 * 256;
    p.finalNorm = 256;
    p.attention.assign(10, 256 + 256 * 256 + 256 * 64 + 256 * 64 + 256 * 256);
    p.ffn.assign(10, 256 + 3 * 256 * 1024);
    p.total = 13702400;
    s.computeDtype = "f32";
    s.computeDtypeBytes = 4;
    s.device = "cpu";
    return s;
}

QString sourcePath(const QString& relative) {
    return QDir(QStringLiteral(LAYERLAB_SOURCE_DIR)).filePath(relative);
}

QString demoDir() {
    const auto dir = sourcePath(QStringLiteral("resources/demo"));
    return QFileInfo::exists(dir + QStringLiteral("/model.safetensors")) ? dir : QString();
}

QString device() {
    const auto d = qEnvironmentVariable("LAYERLAB_TEST_DEVICE");
    return d.isEmpty() ? QStringLiteral("cpu") : d;
}

} // namespace layerlab::ui::test
