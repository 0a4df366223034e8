#include "export/export_dialog.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>

#include <exception>

namespace layerlab::ui {

ExportDialog::ExportDialog(std::function<std::string(const ExportSettings&)> preview, QWidget* parent)
    : QDialog(parent), preview_(std::move(preview)), format_(new QComboBox(this)),
      dtype_(new QComboBox(this)), out_(new QLineEdit(this)),
      shardSize_(new QLineEdit(QStringLiteral("5GB"), this)),
      force_(new QCheckBox(tr("Replace the folder if it exists"), this)),
      manifest_(new QPlainTextEdit(this)) {
    setWindowTitle(tr("Export pruned model"));
    format_->addItem(tr("automatic (hf for whole blocks, else nemotron-nas)"), QStringLiteral("auto"));
    format_->addItem(tr("Hugging Face (same architecture, layers renumbered)"), QStringLiteral("hf"));
    format_->addItem(tr("Nemotron-NAS / DeciLM (no_op and linear sub-layers)"),
                     QStringLiteral("nemotron-nas"));
    format_->addItem(tr("zeroed (same architecture, removed outputs zeroed)"), QStringLiteral("zeroed"));
    for (const char* d : {"keep", "f32", "bf16", "f16"})
        dtype_->addItem(QString::fromLatin1(d), QString::fromLatin1(d));
    out_->setPlaceholderText(tr("a new folder; never inside the source model"));
    shardSize_->setToolTip(tr("Largest safetensors shard, e.g. 5GB, 500MB"));
    manifest_->setReadOnly(true);
    manifest_->setMinimumSize(560, 300);
    auto* browse = new QPushButton(tr("Browse..."), this);
    connect(browse, &QPushButton::clicked, this, [this] {
        const auto dir = QFileDialog::getSaveFileName(this, tr("Export to folder"), out_->text());
        if (!dir.isEmpty()) out_->setText(dir);
    });
    auto* outRow = new QHBoxLayout;
    outRow->addWidget(out_, 1);
    outRow->addWidget(browse);
    auto* form = new QFormLayout;
    form->addRow(tr("Format"), format_);
    form->addRow(tr("Weights dtype"), dtype_);
    form->addRow(tr("Target folder"), outRow);
    form->addRow(tr("Shard size"), shardSize_);
    form->addRow(QString(), force_);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
    buttons->button(QDialogButtonBox::Ok)->setText(tr("Export"));
    connect(buttons, &QDialogButtonBox::accepted, this, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    connect(out_, &QLineEdit::textChanged, this,
            [buttons](const QString& t) { buttons->button(QDialogButtonBox::Ok)->setEnabled(!t.isEmpty()); });
    buttons->button(QDialogButtonBox::Ok)->setEnabled(false);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(manifest_, 1);
    layout->addWidget(buttons);
    connect(format_, &QComboBox::currentIndexChanged, this, &ExportDialog::refreshPreview);
    connect(dtype_, &QComboBox::currentIndexChanged, this, &ExportDialog::refreshPreview);
    connect(shardSize_, &QLineEdit::editingFinished, this, &ExportDialog::refreshPreview);
    refreshPreview();
}

ExportSettings ExportDialog::settings() const {
    ExportSettings s;
    s.out = out_->text();
    s.format = format_->currentData().toString();
    s.dtype = dtype_->currentData().toString();
    s.shardSize = shardSize_->text();
    s.force = force_->isChecked();
    return s;
}

void ExportDialog::setSettings(const ExportSettings& s) {
    out_->setText(s.out);
    format_->setCurrentIndex(std::max(0, format_->findData(s.format)));
    dtype_->setCurrentIndex(std::max(0, dtype_->findData(s.dtype)));
    shardSize_->setText(s.shardSize);
    force_->setChecked(s.force);
    refreshPreview();
}

QString ExportDialog::previewText() const {
    return manifest_->toPlainText();
}

void ExportDialog::refreshPreview() {
    try {
        manifest_->setPlainText(QString::fromStdString(preview_ ? preview_(settings()) : std::string()));
    } catch (const std::exception& e) {
        manifest_->setPlainText(
            tr("Cannot export with these settings:\n%1").arg(QString::fromStdString(e.what())));
    }
}

} // namespace layerlab::ui
