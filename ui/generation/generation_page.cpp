#include "generation/generation_page.h"

#include "workspace/workspace.h"

#include <QDoubleSpinBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

namespace layerlab::ui {

GenerationPage::GenerationPage(Workspace* workspace, QWidget* parent)
    : QWidget(parent), workspace_(workspace), prompt_(new QLineEdit(this)), maxTokens_(new QSpinBox(this)),
      temperature_(new QDoubleSpinBox(this)), topP_(new QDoubleSpinBox(this)), seed_(new QSpinBox(this)),
      generate_(new QPushButton(tr("Generate"), this)), output_(new QPlainTextEdit(this)) {
    prompt_->setPlaceholderText(tr("Prompt, e.g. \"And God said\""));
    prompt_->setText(QStringLiteral("And God said"));
    maxTokens_->setRange(1, 4096);
    maxTokens_->setValue(48);
    maxTokens_->setPrefix(tr("max "));
    maxTokens_->setSuffix(tr(" tokens"));
    temperature_->setRange(0, 5);
    temperature_->setSingleStep(0.1);
    temperature_->setDecimals(2);
    temperature_->setPrefix(tr("temperature "));
    temperature_->setToolTip(tr("0: greedy (always the most likely token)"));
    topP_->setRange(0.01, 1);
    topP_->setSingleStep(0.05);
    topP_->setDecimals(2);
    topP_->setValue(1);
    topP_->setPrefix(tr("top-p "));
    topP_->setToolTip(tr("Sampling keeps the smallest set of tokens whose probability reaches top-p"));
    seed_->setRange(0, 1 << 30);
    seed_->setPrefix(tr("seed "));
    generate_->setToolTip(tr("Generate under the current removal set (adapters included)"));
    output_->setReadOnly(true);

    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Prompt:"), this));
    top->addWidget(prompt_, 1);
    top->addWidget(generate_);
    auto* settings = new QHBoxLayout;
    settings->addWidget(maxTokens_);
    settings->addWidget(temperature_);
    settings->addWidget(topP_);
    settings->addWidget(seed_);
    settings->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addLayout(settings);
    layout->addWidget(output_, 1);

    connect(generate_, &QPushButton::clicked, this, [this] { Q_EMIT generateRequested(request()); });
    connect(prompt_, &QLineEdit::returnPressed, this, [this] { Q_EMIT generateRequested(request()); });
    connect(workspace_, &Workspace::modelChanged, this, [this] {
        output_->clear();
        results_.clear();
    });
}

GenerationRequest GenerationPage::request() const {
    GenerationRequest r;
    r.prompt = prompt_->text().toStdString();
    r.maxNewTokens = maxTokens_->value();
    r.temperature = temperature_->value();
    r.topP = topP_->value();
    r.seed = static_cast<uint64_t>(seed_->value());
    return r;
}

void GenerationPage::setRequest(const GenerationRequest& r) {
    prompt_->setText(QString::fromStdString(r.prompt));
    maxTokens_->setValue(static_cast<int>(r.maxNewTokens));
    temperature_->setValue(r.temperature);
    topP_->setValue(r.topP);
    seed_->setValue(static_cast<int>(r.seed));
}

void GenerationPage::showResult(const GeneratedText& r) {
    results_.push_back(r);
    Q_EMIT resultsChanged();
    const auto spec = r.mask.toSpec();
    // How the steps after the prompt ran: on a GPU, replays of a CUDA graph.
    const QString steps = r.decodeSteps == "cuda_graph"    ? tr(", CUDA graph")
                          : r.decodeSteps == "fixed_shape" ? tr(", fixed-shape steps")
                          : r.decodeSteps == "dynamic"     ? tr(", step by step")
                                                           : QString();
    output_->appendPlainText(tr("[removed: %1; %2 tokens, %3, %4 tokens/s, first token after %5 s%6]")
                                 .arg(spec.empty() ? tr("nothing") : QString::fromStdString(spec))
                                 .arg(r.tokens)
                                 .arg(QString::fromStdString(r.stopReason))
                                 .arg(r.tokensPerSecond, 0, 'f', 1)
                                 .arg(r.firstTokenSeconds, 0, 'f', 2)
                                 .arg(steps));
    output_->appendPlainText(QString::fromStdString(r.prompt) + QString::fromStdString(r.text));
    output_->appendPlainText(QString());
}

QString GenerationPage::output() const {
    return output_->toPlainText();
}

nlohmann::json GenerationPage::sessionRecord() const {
    if (results_.empty()) return nullptr;
    auto list = nlohmann::json::array();
    constexpr size_t kKept = 1000; // well within what a session file may hold
    for (size_t i = results_.size() > kKept ? results_.size() - kKept : 0; i < results_.size(); ++i)
        list.push_back(generatedTextJson(results_[i]));
    return list;
}

void GenerationPage::restoreSessionRecord(const nlohmann::json& record, int64_t numLayers,
                                          const std::string& source) {
    std::vector<GeneratedText> restored;
    if (record.is_array())
        for (const auto& r : record)
            restored.push_back(generatedTextFromJson(r, numLayers, source));
    output_->clear();
    results_.clear();
    for (const auto& r : restored)
        showResult(r);
}

} // namespace layerlab::ui
