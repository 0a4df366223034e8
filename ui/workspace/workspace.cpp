#include "workspace/workspace.h"

#include "workspace/unit_toggle.h"

#include <algorithm>

namespace layerlab::ui {

Workspace::Workspace(QObject* parent) : QObject(parent) {}

void Workspace::setModel(std::shared_ptr<Model> model, std::shared_ptr<const Tokenizer> tokenizer,
                         const ModelSummary& summary) {
    model_ = std::move(model);
    tokenizer_ = std::move(tokenizer);
    summary_ = summary;
    mask_ = LayerMask(summary_.config.numLayers);
    scores_ = {};
    inputs_.reset(); // tokenized with the old tokenizer
    baseline_ = {};
    latest_.reset();
    adapterUnits_.clear();
    Q_EMIT modelChanged();
    Q_EMIT adaptersChanged();
    Q_EMIT scoresChanged();
    Q_EMIT maskChanged();
    Q_EMIT evaluationChanged();
}

void Workspace::setMask(const LayerMask& mask) {
    if (mask == mask_) return;
    mask_ = mask;
    Q_EMIT maskChanged();
}

void Workspace::toggle(Unit unit, int64_t layer) {
    if (layer < 0 || layer >= numLayers()) return;
    toggleUnit(mask_, unit, layer);
    Q_EMIT maskChanged();
}

void Workspace::mergeScores(const ScoreTable& scores) {
    scores_.merge(scores);
    Q_EMIT scoresChanged();
}

void Workspace::clearScores() {
    scores_ = {};
    Q_EMIT scoresChanged();
}

void Workspace::addEvaluation(const QuickEvaluation& result) {
    if (result.level < 0 || result.level >= static_cast<int>(baseline_.size())) return;
    if (result.mask.empty()) baseline_[result.level] = result;
    latest_ = result;
    Q_EMIT evaluationChanged();
}

void Workspace::clearEvaluations() {
    baseline_ = {};
    latest_.reset();
    Q_EMIT evaluationChanged();
}

bool Workspace::hasAdapter(Unit unit, int64_t layer) const {
    return std::find(adapterUnits_.begin(), adapterUnits_.end(), UnitRef{unit, layer}) != adapterUnits_.end();
}

void Workspace::setAdapterUnits(const std::vector<UnitRef>& units) {
    if (units == adapterUnits_) return;
    adapterUnits_ = units;
    if (latest_ && !latest_->mask.empty()) {
        latest_.reset();
        Q_EMIT evaluationChanged();
    }
    Q_EMIT adaptersChanged();
}

void Workspace::setDataSettings(const DataSettings& settings) {
    if (settings == data_) return;
    const bool sameInputs = inputs_ && inputs_->matches(settings);
    const bool sameSamples = settings.evaluationWindows == data_.evaluationWindows &&
                             settings.evaluationItems == data_.evaluationItems;
    data_ = settings;
    if (!sameInputs || !sameSamples) {
        inputs_.reset();
        clearEvaluations(); // measured on other data
    }
    Q_EMIT dataSettingsChanged();
}

std::shared_ptr<const EvaluationInputs> Workspace::inputs() const {
    return inputs_ && inputs_->matches(data_) ? inputs_ : nullptr;
}

void Workspace::setInputs(std::shared_ptr<const EvaluationInputs> inputs) {
    inputs_ = std::move(inputs);
}

} // namespace layerlab::ui
