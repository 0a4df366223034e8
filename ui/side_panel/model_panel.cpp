#include "side_panel/model_panel.h"

#include "cost/cost_model.h"
#include "export/pruning_cost.h"
#include "workspace/evaluation_inputs.h"
#include "workspace/model_loading.h"
#include "workspace/workspace.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QLocale>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>

namespace layerlab::ui {

namespace {

QString count(int64_t n) {
    return QLocale().toString(static_cast<qlonglong>(n));
}

QString mib(uint64_t bytes) {
    return QObject::tr("%1 MiB").arg(static_cast<double>(bytes) / (1024.0 * 1024.0), 0, 'f', 1);
}

} // namespace

ModelPanel::ModelPanel(Workspace* workspace, QWidget* parent)
    : QWidget(parent), workspace_(workspace), info_(new QLabel(this)), device_(new QComboBox(this)),
      dtype_(new QComboBox(this)), calibration_(new QLineEdit(this)), tasks_(new QListWidget(this)),
      seqLen_(new QSpinBox(this)), windows_(new QSpinBox(this)), evalWindows_(new QSpinBox(this)),
      evalItems_(new QSpinBox(this)) {
    info_->setTextFormat(Qt::RichText);
    info_->setWordWrap(true);
    info_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    info_->setAlignment(Qt::AlignTop | Qt::AlignLeft);
    auto* modelBox = new QGroupBox(tr("Model"), this);
    (new QVBoxLayout(modelBox))->addWidget(info_);

    for (const auto& d : computeDevices()) {
        // The description alone fits the panel; the CLI's name for the device is its tooltip.
        device_->addItem(QString::fromStdString(d.description), QString::fromStdString(d.name));
        device_->setItemData(device_->count() - 1,
                             tr("--device %1 in layerlab-cli").arg(QString::fromStdString(d.name)),
                             Qt::ToolTipRole);
    }
    device_->setToolTip(tr("CPU, or a CUDA GPU found by LibTorch"));
    dtype_->addItem(tr("f32 (float32)"), QStringLiteral("f32"));
    dtype_->addItem(tr("bf16 (bfloat16)"), QStringLiteral("bf16"));
    dtype_->addItem(tr("f16 (float16)"), QStringLiteral("f16"));
    dtype_->setToolTip(tr("Compute dtype; the weights are held in it"));
    auto* reload = new QPushButton(tr("Load again with these"), this);
    auto* computeBox = new QGroupBox(tr("Compute"), this);
    auto* computeForm = new QFormLayout(computeBox);
    computeForm->addRow(tr("Device"), device_);
    computeForm->addRow(tr("Dtype"), dtype_);
    computeForm->addRow(reload);

    calibration_->setReadOnly(true);
    calibration_->setPlaceholderText(tr("none (tasks only)"));
    auto* browse = new QPushButton(tr("..."), this);
    browse->setToolTip(tr("Choose a .txt or .jsonl calibration file"));
    auto* calibrationRow = new QHBoxLayout;
    calibrationRow->addWidget(calibration_, 1);
    calibrationRow->addWidget(browse);
    tasks_->setMaximumHeight(70);
    auto* addTask = new QPushButton(tr("Add..."), this);
    auto* removeTask = new QPushButton(tr("Remove"), this);
    auto* taskButtons = new QHBoxLayout;
    taskButtons->addWidget(addTask);
    taskButtons->addWidget(removeTask);
    taskButtons->addStretch(1);
    seqLen_->setRange(16, 32768);
    seqLen_->setSingleStep(64);
    seqLen_->setSuffix(tr(" tokens"));
    seqLen_->setToolTip(tr("Window length for perplexity and importance"));
    windows_->setRange(1, 4096);
    windows_->setToolTip(tr("Calibration windows the importance metrics use (a seeded sample)"));
    evalWindows_->setRange(1, 100000);
    evalWindows_->setToolTip(
        tr("Calibration windows of the refined evaluation (the quick one uses a fifth)"));
    evalItems_->setRange(1, 1000000);
    evalItems_->setToolTip(tr("Items per task of the refined evaluation (the quick one uses a fifth)"));
    auto* dataBox = new QGroupBox(tr("Data"), this);
    auto* dataForm = new QFormLayout(dataBox);
    dataForm->addRow(tr("Calibration"), calibrationRow);
    dataForm->addRow(tr("Tasks"), tasks_);
    dataForm->addRow(QString(), taskButtons);
    dataForm->addRow(tr("Window"), seqLen_);
    dataForm->addRow(tr("Importance windows"), windows_);
    dataForm->addRow(tr("Evaluation windows"), evalWindows_);
    dataForm->addRow(tr("Task items"), evalItems_);

    auto* layout = new QVBoxLayout(this);
    layout->addWidget(modelBox);
    layout->addWidget(computeBox);
    layout->addWidget(dataBox);
    layout->addStretch(1);

    connect(reload, &QPushButton::clicked, this, [this] { Q_EMIT reloadRequested(device(), dtype()); });
    connect(browse, &QPushButton::clicked, this, &ModelPanel::chooseCalibration);
    connect(addTask, &QPushButton::clicked, this, &ModelPanel::addTask);
    connect(removeTask, &QPushButton::clicked, this, &ModelPanel::removeTask);
    connect(seqLen_, &QSpinBox::editingFinished, this,
            [this] { editData([this](DataSettings& d) { d.seqLen = seqLen_->value(); }); });
    connect(windows_, &QSpinBox::editingFinished, this,
            [this] { editData([this](DataSettings& d) { d.importanceWindows = windows_->value(); }); });
    connect(evalWindows_, &QSpinBox::editingFinished, this,
            [this] { editData([this](DataSettings& d) { d.evaluationWindows = evalWindows_->value(); }); });
    connect(evalItems_, &QSpinBox::editingFinished, this,
            [this] { editData([this](DataSettings& d) { d.evaluationItems = evalItems_->value(); }); });
    connect(workspace_, &Workspace::modelChanged, this, &ModelPanel::showModel);
    connect(workspace_, &Workspace::dataSettingsChanged, this, &ModelPanel::showData);
    showModel();
    showData();
}

QString ModelPanel::device() const {
    return device_->currentData().toString();
}

QString ModelPanel::dtype() const {
    return dtype_->currentData().toString();
}

void ModelPanel::setDevice(const QString& name) {
    if (const int i = device_->findData(name); i >= 0) device_->setCurrentIndex(i);
}

void ModelPanel::setDtype(const QString& name) {
    if (const int i = dtype_->findData(name); i >= 0) dtype_->setCurrentIndex(i);
}

void ModelPanel::showModel() {
    const auto& s = workspace_->summary();
    if (s.empty()) {
        info_->setText(tr("<i>No model open. Use File &gt; Open model, drop a model folder here, "
                          "or pick one from File &gt; Recent.</i>"));
        return;
    }
    QString html = QStringLiteral("<table cellspacing='2'>");
    auto row = [&](const QString& k, const QString& v) {
        html += QStringLiteral("<tr><td><b>%1</b></td><td>%2</td></tr>").arg(k, v);
    };
    row(tr("Folder"), QFileInfo(QString::fromStdString(s.dir)).fileName().toHtmlEscaped());
    const auto& c = s.config;
    const auto& p = s.parameters;
    row(tr("Architecture"), QString::fromUtf8(architectureName(c.architecture)));
    row(tr("Layers"), QString::number(c.numLayers));
    row(tr("Hidden / FFN"), QStringLiteral("%1 / %2").arg(c.hiddenSize).arg(c.intermediateSize));
    row(tr("Heads"), tr("%1 x %2, %3 KV").arg(c.numHeads).arg(c.headDim).arg(c.numKvHeads));
    row(tr("Parameters"), count(p.total));
    if (c.numLayers > 0)
        row(tr("Per block"),
            tr("%1 (attn %2, FFN %3)")
                .arg(count(p.attention[0] + p.ffn[0]), count(p.attention[0]), count(p.ffn[0])));
    row(tr("Dtype"), tr("%1 stored, %2 compute")
                         .arg(QString::fromStdString(c.dtype.empty() ? "?" : c.dtype),
                              QString::fromStdString(s.computeDtype)));
    row(tr("Device"), QString::fromStdString(s.placement.empty() ? s.device : s.placement));
    row(tr("Weights"), mib(s.weightBytes));
    row(tr("KV cache"),
        tr("%1 bytes per token").arg(count(removalCost(s, LayerMask(c.numLayers)).kvBytesPerToken)));
    if (!s.unusedTensors.empty()) row(tr("Unused tensors"), QString::number(s.unusedTensors.size()));
    html += QStringLiteral("</table>");
    info_->setText(html);
    info_->setToolTip(QString::fromStdString(s.dir));
    setDevice(QString::fromStdString(s.device));
    setDtype(QString::fromStdString(s.computeDtype));
}

void ModelPanel::showData() {
    const auto& d = workspace_->dataSettings();
    calibration_->setText(QString::fromStdString(d.calibrationFile.string()));
    calibration_->setToolTip(calibration_->text());
    tasks_->clear();
    for (const auto& t : d.taskFiles) {
        auto* item = new QListWidgetItem(QString::fromStdString(t.filename().string()), tasks_);
        item->setToolTip(QString::fromStdString(t.string()));
        item->setData(Qt::UserRole, QString::fromStdString(t.string()));
    }
    seqLen_->setValue(static_cast<int>(d.seqLen));
    windows_->setValue(static_cast<int>(d.importanceWindows));
    evalWindows_->setValue(static_cast<int>(d.evaluationWindows));
    evalItems_->setValue(static_cast<int>(d.evaluationItems));
}

void ModelPanel::editData(const std::function<void(DataSettings&)>& change) {
    auto d = workspace_->dataSettings();
    change(d);
    workspace_->setDataSettings(d);
}

void ModelPanel::chooseCalibration() {
    const auto file = QFileDialog::getOpenFileName(this, tr("Calibration data"), calibration_->text(),
                                                   tr("Text or JSON lines (*.txt *.jsonl);;All files (*)"));
    if (!file.isEmpty()) editData([&](DataSettings& d) { d.calibrationFile = file.toStdString(); });
}

void ModelPanel::addTask() {
    const auto files = QFileDialog::getOpenFileNames(this, tr("Multiple-choice tasks"), {},
                                                     tr("JSON lines (*.jsonl);;All files (*)"));
    if (files.isEmpty()) return;
    editData([&](DataSettings& d) {
        for (const auto& f : files)
            if (std::find(d.taskFiles.begin(), d.taskFiles.end(), f.toStdString()) == d.taskFiles.end())
                d.taskFiles.push_back(f.toStdString());
    });
}

void ModelPanel::removeTask() {
    const auto* item = tasks_->currentItem();
    if (!item) return;
    const auto path = item->data(Qt::UserRole).toString().toStdString();
    editData([&](DataSettings& d) { std::erase(d.taskFiles, std::filesystem::path(path)); });
}

} // namespace layerlab::ui
