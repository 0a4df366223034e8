#pragma once
// The state one workbench window works on: the open model, the removal set, the importance
// scores, the evaluation results and the data choices. Widgets and item models read it and
// listen to its signals; jobs take copies of what they need (shared pointers, values) so
// nothing here is touched from a worker thread.

#include <QObject>

#include <array>
#include <memory>
#include <optional>

#include "cost/quick_evaluation.h"
#include "model/layer_mask.h"
#include "workspace/evaluation_inputs.h"
#include "workspace/model_summary.h"
#include "workspace/score_table.h"

namespace layerlab {
class Model;
class Tokenizer;
} // namespace layerlab

namespace layerlab::ui {

class Workspace : public QObject {
    Q_OBJECT
public:
    explicit Workspace(QObject* parent = nullptr);

    // A new model clears the removal set, scores and evaluations. The model may be null (tests
    // and previews work from the summary alone).
    void setModel(std::shared_ptr<Model> model, std::shared_ptr<const Tokenizer> tokenizer,
                  const ModelSummary& summary);
    std::shared_ptr<const Model> model() const { return model_; }
    // For what changes the model's state (adapters): only on the GUI thread while no job runs
    // (a JobRunner GUI step).
    std::shared_ptr<Model> mutableModel() const { return model_; }
    std::shared_ptr<const Tokenizer> tokenizer() const { return tokenizer_; }
    const ModelSummary& summary() const { return summary_; }
    int64_t numLayers() const { return summary_.config.numLayers; }
    bool hasModel() const { return !summary_.empty(); }

    const LayerMask& mask() const { return mask_; }
    void setMask(const LayerMask& mask);
    void toggle(Unit unit, int64_t layer);

    const ScoreTable& scores() const { return scores_; }
    void mergeScores(const ScoreTable& scores);
    void clearScores();

    // Results of the quick evaluation, per level: the full model's and the latest masked one.
    const std::optional<QuickEvaluation>& baseline(int level) const { return baseline_.at(level); }
    const std::optional<QuickEvaluation>& latest() const { return latest_; }
    void addEvaluation(const QuickEvaluation& result);
    void clearEvaluations();

    // Units with an adapter installed in the model (see core/model/adapter.h); adapters act only while
    // their unit is removed. Set by whoever installs them; the latest masked evaluation is dropped
    // (it was measured without them), the full model's stay (adapters never act there).
    const std::vector<UnitRef>& adapterUnits() const { return adapterUnits_; }
    bool hasAdapter(Unit unit, int64_t layer) const;
    void setAdapterUnits(const std::vector<UnitRef>& units);

    const DataSettings& dataSettings() const { return data_; }
    void setDataSettings(const DataSettings& settings);
    // Loaded calibration windows and tasks, kept while the data settings match them.
    std::shared_ptr<const EvaluationInputs> inputs() const;
    void setInputs(std::shared_ptr<const EvaluationInputs> inputs);

Q_SIGNALS:
    void modelChanged();
    void maskChanged();
    void scoresChanged();
    void evaluationChanged();
    void dataSettingsChanged();
    void adaptersChanged();

private:
    std::shared_ptr<Model> model_;
    std::shared_ptr<const Tokenizer> tokenizer_;
    ModelSummary summary_;
    LayerMask mask_;
    ScoreTable scores_;
    std::array<std::optional<QuickEvaluation>, kQuickLevels> baseline_;
    std::optional<QuickEvaluation> latest_;
    DataSettings data_;
    std::vector<UnitRef> adapterUnits_;
    std::shared_ptr<const EvaluationInputs> inputs_;
};

} // namespace layerlab::ui
