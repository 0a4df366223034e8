#pragma once
// The "Generate" tab: a prompt, the sampling settings, and what the model writes under the current
// removal set. Each result is appended, labelled with the removal set it was written under.

#include <QWidget>

#include <vector>

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
    const std::vector<GeneratedText>& results() const { return results_; }

    // The results shown, for sessions (generatedTextJson each, the latest 1000; null when there
    // are none), and
    // shown again from a session. Throws Error for a malformed record: nothing changes then.
    nlohmann::json sessionRecord() const;
    void restoreSessionRecord(const nlohmann::json& record, int64_t numLayers, const std::string& source);

Q_SIGNALS:
    void generateRequested(const layerlab::ui::GenerationRequest& request);
    void resultsChanged();

private:
    Workspace* workspace_;
    QLineEdit* prompt_;
    QSpinBox* maxTokens_;
    QDoubleSpinBox* temperature_;
    QDoubleSpinBox* topP_;
    QSpinBox* seed_;
    QPushButton* generate_;
    QPlainTextEdit* output_;
    std::vector<GeneratedText> results_;
};

} // namespace layerlab::ui
