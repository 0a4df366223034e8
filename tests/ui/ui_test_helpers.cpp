#include "ui_test_helpers.h"

#include <QDir>
#include <QFileInfo>

namespace layerlab::ui::test {

ModelSummary demoSummary() {
    ModelSummary s;
    s.dir = "demo";
    s.architecture = "LlamaForCausalLM";
    s.numLayers = 10;
    s.hiddenSize = 256;
    s.intermediateSize = 1024;
    s.numHeads = 8;
    s.numKvHeads = 2;
    s.headDim = 32;
    s.vocabSize = 8192;
    s.maxPositions = 1024;
    s.embeddingParameters = 8192 * 256;
    s.lmHeadParameters = 8192 * 256;
    s.finalNormParameters = 256;
    s.attentionParameters.assign(10, 256 + 256 * 256 + 256 * 64 + 256 * 64 + 256 * 256);
    s.ffnParameters.assign(10, 256 + 3 * 256 * 1024);
    s.totalParameters = 13702400;
    s.storedDtype = "bfloat16";
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

} // namespace layerlab::ui::test
