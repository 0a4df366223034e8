#pragma once
// File > Export pruned model: format, dtype, target folder, shard size, replace-if-present, and a
// preview of the runtimes that will load the export and of the layerlab.json manifest it will
// write (refusals show there as messages).

#include <QDialog>

#include <functional>

#include "export/export_job.h"

class QCheckBox;
class QComboBox;
class QLineEdit;
class QPlainTextEdit;

namespace layerlab::ui {

class ExportDialog : public QDialog {
    Q_OBJECT
public:
    // preview: the manifest for given settings, or throws with the reason it cannot be exported.
    ExportDialog(std::function<std::string(const ExportSettings&)> preview, QWidget* parent = nullptr);

    ExportSettings settings() const;
    void setSettings(const ExportSettings& settings);
    QString previewText() const;
    void refreshPreview();

private:
    std::function<std::string(const ExportSettings&)> preview_;
    QComboBox* format_;
    QComboBox* dtype_;
    QLineEdit* out_;
    QLineEdit* shardSize_;
    QCheckBox* force_;
    QPlainTextEdit* manifest_;
};

} // namespace layerlab::ui
