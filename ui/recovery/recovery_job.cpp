#include "recovery/recovery_job.h"

#include "common/error.h"
#include "eval/evaluation.h"
#include "jobs/job_runner.h"
#include "model/model.h"
#include "recovery/adapter_fit.h"
#include "recovery/adapter_training.h"
#include "recovery/fold_linear.h"
#include "workspace/evaluation_inputs.h"
#include "workspace/workspace.h"

#include <chrono>
#include <optional>

namespace layerlab::ui {

namespace {

std::vector<UnitRef> unitsOf(const AdapterSet& adapters) {
    std::vector<UnitRef> out;
    for (const auto& a : adapters.units)
        out.push_back({a.unit, a.layer});
    return out;
}

// What the steps share; the GUI steps and the worker jobs never run at the same time.
struct RecoveryState {
    AdapterSet previous; // installed before; put back when the fit does not finish
    std::optional<AdapterSet> fitted;
    std::shared_ptr<const EvaluationInputs> inputs;
    RecoveryResult result;
};

} // namespace

std::string recoveryMethodName(const RecoveryRequest& r) {
    const auto rank = std::to_string(r.rank);
    switch (r.method) {
    case RecoveryMethod::Bias:
        return "bias";
    case RecoveryMethod::LowRank:
        return "lowrank:" + rank;
    case RecoveryMethod::FoldLinear:
        return "fold-linear";
    case RecoveryMethod::LearnedBias:
        return "learned-bias" + (r.loraRank > 0 ? "+lora:" + std::to_string(r.loraRank) : std::string());
    case RecoveryMethod::LearnedLowRank:
        return "learned-lowrank:" + rank +
               (r.loraRank > 0 ? "+lora:" + std::to_string(r.loraRank) : std::string());
    case RecoveryMethod::Lora:
        break;
    }
    return "lora:" + rank;
}

bool submitRecovery(JobRunner& jobs, Workspace& workspace, const RecoveryRequest& request,
                    std::function<void(const RecoveryResult&)> onResult,
                    std::function<void(int64_t step, double loss)> onStep) {
    const auto model = workspace.mutableModel();
    if (!model || workspace.mask().empty()) return false;
    auto* ws = &workspace;
    const auto tokenizer = ws->tokenizer();
    const auto inputs = ws->inputs();
    const auto settings = ws->dataSettings();
    const auto mask = ws->mask();
    auto state = std::make_shared<RecoveryState>();
    state->result.mask = mask;
    state->result.method = recoveryMethodName(request);
    // The model's current state must not change under a job: everything below is queued.
    jobs.submitGuiStep(QObject::tr("Taking the adapters out"), [model, state] {
        state->previous = model->adapters();
        model->setAdapters({});
    });
    jobs.submit(
        (request.trained() ? QObject::tr("Training adapters (%1)") : QObject::tr("Fitting adapters (%1)"))
            .arg(QString::fromStdString(state->result.method)),
        [=](const JobContext& ctx) {
            const auto in =
                inputsOrLoad(inputs, *model, tokenizer.get(), settings, ctx.progress(),
                             [&](auto loaded) { ctx.post([ws, loaded] { ws->setInputs(loaded); }); });
            if (in->windows.empty())
                throw Error("recovery needs calibration text: choose a calibration file in the side panel");
            const auto evalWindows = sampleWindows(in->windows, settings.evaluationWindows);
            const auto full =
                evaluateLoss(*model, evalWindows, LayerMask(mask.numLayers()), {}, ctx.progress());
            const auto removed = evaluateLoss(*model, evalWindows, mask, {}, ctx.progress());
            const auto start = std::chrono::steady_clock::now();
            const auto windows = sampleWindows(in->windows, settings.importanceWindows);
            AdapterFitReport report;
            AdapterSet fitted;
            if (request.method == RecoveryMethod::FoldLinear) {
                fitted = fitFoldLinear(*model, windows, mask, {request.ridge, request.batchSize, true},
                                       ctx.progress(), &report);
            } else if (!request.trained()) {
                AdapterFitOptions o;
                o.method =
                    request.method == RecoveryMethod::LowRank ? AdapterMethod::LowRank : AdapterMethod::Bias;
                o.rank = request.rank;
                o.ridge = request.ridge;
                o.batchSize = request.batchSize;
                fitted = fitAdapters(*model, windows, mask, o, ctx.progress(), &report);
            } else {
                AdapterTrainingOptions o;
                o.method = request.method == RecoveryMethod::LearnedLowRank ? AdapterMethod::LowRank
                                                                            : AdapterMethod::Bias;
                o.rank = request.rank;
                o.ridge = request.ridge;
                o.batchSize = request.batchSize;
                o.steps = request.steps;
                o.learningRate = request.learningRate;
                o.standIns = request.method != RecoveryMethod::Lora;
                o.loraRank = request.method == RecoveryMethod::Lora ? request.rank : request.loraRank;
                o.onStep = [&](const AdapterTrainingStep& s) {
                    state->result.lossCurve.push_back(s.loss);
                    if (onStep) ctx.post([onStep, s] { onStep(s.step, s.loss); });
                };
                fitted = trainAdapters(*model, windows, mask, o, ctx.progress());
            }
            ctx.progress().checkCancelled();
            state->result.fitSeconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            state->result.fullLoss = full.loss;
            state->result.removedLoss = removed.loss;
            state->result.windows = removed.sequences;
            state->result.tokens = removed.tokens;
            state->result.adapters = static_cast<int64_t>(fitted.units.size() + fitted.lora.size());
            LayerMask dropped(mask.numLayers());
            for (const auto& u : report.dropped)
                dropped.remove(u.unit, u.layer);
            state->result.dropped = dropped.toSpec();
            state->fitted = std::move(fitted);
            state->inputs = in;
        });
    jobs.submitGuiStep(
        QObject::tr("Installing adapters"),
        [ws, model, state] {
            const bool ok = state->fitted.has_value();
            model->setAdapters(ok ? *state->fitted : state->previous);
            // A model opened meanwhile has its own (empty) set.
            if (ws->model() == model) ws->setAdapterUnits(unitsOf(model->adapters()));
        },
        true);
    jobs.submit(QObject::tr("Measuring the recovered model"), [=](const JobContext& ctx) {
        if (!state->fitted || !state->inputs) return;
        const auto recovered =
            evaluateLoss(*model, sampleWindows(state->inputs->windows, settings.evaluationWindows), mask, {},
                         ctx.progress());
        state->result.recoveredLoss = recovered.loss;
        ctx.post([state, onResult] {
            if (onResult) onResult(state->result);
        });
    });
    return true;
}

void submitRemoveAdapters(JobRunner& jobs, Workspace& workspace) {
    auto* ws = &workspace;
    jobs.submitGuiStep(QObject::tr("Removing adapters"), [ws] {
        if (const auto model = ws->mutableModel()) {
            model->setAdapters({});
            ws->setAdapterUnits({});
        }
    });
}

void submitInstallAdapters(JobRunner& jobs, Workspace& workspace, const QString& path,
                           std::function<void(const QString&)> onError) {
    auto* ws = &workspace;
    jobs.submitGuiStep(QObject::tr("Installing adapters"), [ws, path, onError] {
        const auto model = ws->mutableModel();
        if (!model) return;
        try {
            const std::filesystem::path file = path.toStdString();
            auto adapters = loadAdapters(file, model->config());
            try {
                model->setAdapters(adapters);
            } catch (const Error& e) {
                throw Error(file, e.what());
            }
            ws->setAdapterUnits(unitsOf(model->adapters()));
        } catch (const std::exception& e) {
            if (onError) onError(QString::fromStdString(e.what()));
        }
    });
}

bool hasInstalledAdapters(const Workspace& workspace) {
    return workspace.model() && !workspace.model()->adapters().empty();
}

QString saveInstalledAdapters(const Workspace& workspace, const QString& path) {
    const auto model = workspace.model();
    if (!model || model->adapters().empty()) return QObject::tr("There are no adapters to save.");
    try {
        saveAdapters(path.toStdString(), model->adapters());
    } catch (const std::exception& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

} // namespace layerlab::ui
