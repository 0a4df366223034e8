#pragma once
// The "Generate" tab: a prompt, the sampling settings, and what the model writes under the current
// removal set. Each result is appended, labelled with the removal set it was written under.

#include <QWidget>

#include "generation/generation_job.h"

class QDoubleSpinBox;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;

namespace layerlab::ui {

class Workspace;

class GenerationPage : public QWidget {
    Q_OBJECT
public:
    explicit GenerationPage(Workspace* workspace, QWidget* parent = nullptr);

    GenerationRequest request() const;
    void setRequest(const GenerationRequest& request);
    void showResult(const GeneratedText& result);
    QString output() const;

Q_SIGNALS:
    void generateRequested(const layerlab::ui::GenerationRequest& request);

private:
    Workspace* workspace_;
    QLineEdit* prompt_;
    QSpinBox* maxTokens_;
    QDoubleSpinBox* temperature_;
    QDoubleSpinBox* topP_;
    QSpinBox* seed_;
    QPushButton* generate_;
    QPlainTextEdit* output_;
};

} // namespace layerlab::ui
