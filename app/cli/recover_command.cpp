#include "commands.h"
#include "common/error.h"
#include "data/multiple_choice_task.h"
#include "data_options.h"
#include "eval/evaluation.h"
#include "eval/multiple_choice_eval.h"
#include "importance_options.h"
#include "io/atomic_file.h"
#include "json_report.h"
#include "model/device.h"
#include "model_options.h"
#include "recovery/adapter_fit.h"
#include "recovery/adapter_training.h"
#include "recovery/fold_linear.h"
#include "terminal_progress.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>

namespace layerlab::cli {

namespace {

// What --method asks for: a closed-form fit, or training (stand-ins and/or LoRA).
struct RecoveryMethod {
    bool trained = false;
    bool folded = false; // fold-linear: a map folded into the FFN before each removed run of blocks
    AdapterFitOptions fit;
    AdapterTrainingOptions train;
};

int64_t rankOf(const std::string& method, size_t prefix) {
    try {
        size_t used = 0;
        const int64_t r = std::stoll(method.substr(prefix), &used);
        if (used == method.size() - prefix && r >= 1) return r;
    } catch (const std::exception&) {
    }
    throw UsageError("--method '" + method + "': the rank after ':' must be a whole number >= 1");
}

RecoveryMethod parseMethod(const std::string& method) {
    RecoveryMethod m;
    if (method == "bias") {
        m.fit.method = AdapterMethod::Bias;
    } else if (method.rfind("lowrank:", 0) == 0) {
        m.fit.method = AdapterMethod::LowRank;
        m.fit.rank = rankOf(method, 8);
    } else if (method == "learned-bias") {
        m.trained = true;
        m.train.method = AdapterMethod::Bias;
    } else if (method.rfind("learned-lowrank:", 0) == 0) {
        m.trained = true;
        m.train.method = AdapterMethod::LowRank;
        m.train.rank = rankOf(method, 16);
    } else if (method == "fold-linear") {
        m.folded = true;
    } else if (method.rfind("lora:", 0) == 0) {
        m.trained = true;
        m.train.standIns = false;
        m.train.loraRank = rankOf(method, 5);
    } else {
        throw UsageError(
            "unknown --method '" + method +
            "' (bias, lowrank:R, fold-linear, learned-bias, learned-lowrank:R or lora:R; R a whole number)");
    }
    return m;
}

} // namespace

int runRecover(const std::vector<std::string>& argv) {
    auto names = modelOptionNames();
    names.insert(dataOptionNames().begin(), dataOptionNames().end());
    names.insert({"remove", "method", "ridge", "batch-size", "save-adapters", "json", "tasks", "max-items",
                  "eval-data", "steps", "lr", "weight-decay", "lora-rank", "lora-alpha", "lora-targets",
                  "init", "loss-curve"});
    auto flags = dataFlagNames();
    flags.insert({"quiet", "no-guard"});
    Arguments args(argv, names, flags);
    auto method = parseMethod(args.get("method", "bias"));
    auto& fit = method.fit;
    fit.ridge = args.getDouble("ridge", fit.ridge);
    fit.batchSize = args.getInt("batch-size", 8);
    fit.guard = !args.flag("no-guard");
    auto& train = method.train;
    train.ridge = fit.ridge;
    train.batchSize = args.getInt("batch-size", 4);
    train.steps = args.getInt("steps", train.steps);
    train.learningRate = args.getDouble("lr", train.learningRate);
    train.weightDecay = args.getDouble("weight-decay", train.weightDecay);
    train.seed = static_cast<uint64_t>(args.getInt("seed", 0));
    if (args.get("lora-rank")) {
        if (!method.trained || !train.standIns)
            throw UsageError(
                "--lora-rank adds LoRA to learned-bias or learned-lowrank:R (lora:R sets it itself)");
        train.loraRank = args.getInt("lora-rank", 0);
    }
    train.loraAlpha = args.getDouble("lora-alpha", 0);
    if (auto t = args.get("lora-targets")) {
        try {
            train.loraProjections = parseProjections(*t);
        } catch (const Error& e) {
            throw UsageError(std::string("--lora-targets: ") + e.what());
        }
    }
    const std::string init = args.get("init", "fit");
    if (init != "fit" && init != "zero") throw UsageError("--init is 'fit' or 'zero'");
    train.initFromFit = init == "fit";
    if (!method.trained) {
        for (const char* o :
             {"steps", "lr", "weight-decay", "lora-alpha", "lora-targets", "init", "loss-curve"})
            if (args.get(o))
                throw UsageError(std::string("--") + o + " applies to the trained methods (learned-bias, " +
                                 "learned-lowrank:R, lora:R)");
    } else if (args.flag("no-guard")) {
        throw UsageError("--no-guard applies to the fitted methods (bias, lowrank:R, fold-linear)");
    }
    if (args.get("adapters")) throw UsageError("recover fits adapters; --adapters is for the other commands");

    TerminalProgress bar(!args.flag("quiet"));
    auto progress = bar.progress();
    auto model = loadModel(args, progress);
    const auto mask = LayerMask::parse(args.required("remove"), model->numLayers());
    if (method.folded) removedBlockRuns(mask); // refuses a mask it cannot serve before any evaluation
    const auto calibration = loadData(args, *model, progress);
    const auto evalData =
        args.get("eval-data") ? loadData(args, *model, progress, *args.get("eval-data")) : calibration;
    const auto tasks = loadTasks(args, progress);
    std::optional<Tokenizer> tokenizer;
    if (!tasks.empty()) tokenizer.emplace(Tokenizer::load(model->dir()));

    auto measure = [&](const LayerMask& m) {
        const auto loss = evaluateLoss(*model, evalData.windows, m, {fit.batchSize, {}}, progress);
        nlohmann::ordered_json j = {{"loss", loss.loss}, {"perplexity", loss.perplexity}};
        for (const auto& t : tasks) {
            const auto r = evaluateMultipleChoice(*model, *tokenizer, t, m, {fit.batchSize}, progress);
            j["tasks"][r.task] = {{"acc", r.acc}, {"acc_norm", r.accNorm}, {"acc_stderr", r.accStderr}};
        }
        bar.finishLine();
        return j;
    };
    const auto full = measure(LayerMask(model->numLayers()));
    const auto removed = measure(mask);
    const auto start = std::chrono::steady_clock::now();
    AdapterFitReport fitReport;
    AdapterTrainingReport trainReport;
    AdapterSet adapters;
    if (method.trained)
        adapters = trainAdapters(*model, calibration.windows, mask, train, progress, &trainReport);
    else if (method.folded)
        adapters = fitFoldLinear(*model, calibration.windows, mask, {fit.ridge, fit.batchSize, fit.guard},
                                 progress, &fitReport);
    else
        adapters = fitAdapters(*model, calibration.windows, mask, fit, progress, &fitReport);
    const double fitSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    bar.finishLine();
    model->setAdapters(adapters);
    const auto recovered = measure(mask);
    if (auto out = args.get("save-adapters")) saveAdapters(*out, adapters);

    nlohmann::ordered_json units = nlohmann::ordered_json::array();
    for (const auto& a : adapters.units)
        units.push_back({{"unit", unitName(a.unit)}, {"layer", a.layer}, {"rank", a.rank()}});
    nlohmann::ordered_json lora = nlohmann::ordered_json::array();
    for (const auto& a : adapters.lora)
        lora.push_back(
            {{"layer", a.layer}, {"projection", projectionName(a.projection)}, {"rank", a.rank()}});
    nlohmann::ordered_json j;
    j["model"] = model->dir().string();
    j["removed"] = mask.toSpec();
    j["method"] = args.get("method", "bias");
    j["ridge"] = fit.ridge;
    j["adapters"] = units;
    j["lora"] = lora;
    if (method.trained) {
        j["training"] = {{"steps", train.steps},
                         {"lr", train.learningRate},
                         {"weight_decay", train.weightDecay},
                         {"batch_size", train.batchSize},
                         {"init", init},
                         {"lora_rank", train.loraRank},
                         {"seed", train.seed},
                         {"tokens", trainReport.tokens},
                         {"trainable_parameters", trainReport.trainableParameters},
                         {"loss_curve", trainReport.losses}};
        if (auto curve = args.get("loss-curve")) {
            std::string csv = "step,loss\n";
            for (size_t i = 0; i < trainReport.losses.size(); ++i)
                csv += std::to_string(i + 1) + "," + std::to_string(trainReport.losses[i]) + "\n";
            writeFileAtomically(*curve, csv);
        }
    }
    nlohmann::ordered_json dropped = nlohmann::ordered_json::array();
    for (const auto& u : fitReport.dropped)
        dropped.push_back({{"unit", unitName(u.unit)}, {"layer", u.layer}});
    j["dropped_by_guard"] = dropped; // fitted, but the calibration loss was better without them
    j["full"] = full;
    j["removed_only"] = removed;
    j["recovered"] = recovered;
    j["fit_s"] = fitSeconds;
    j["calibration_data"] = toJson(calibration.description);
    j["eval_data"] = toJson(evalData.description);
    j["device"] = model->deviceMap().describe();
    j["dtype"] = dtypeName(model->dtype());
    if (auto out = args.get("json")) writeJsonReport(*out, j, "recover", argv);
    std::printf("perplexity: full %.4f, removed %.4f, recovered %.4f  (%s, %s, %s %.1f s)\n",
                full["perplexity"].get<double>(), removed["perplexity"].get<double>(),
                recovered["perplexity"].get<double>(), mask.toSpec().c_str(),
                args.get("method", "bias").c_str(), method.trained ? "training" : "fit", fitSeconds);
    for (const auto& u : fitReport.dropped)
        std::printf("note: the %s:%lld adapter was left out: the calibration loss was lower without it\n",
                    unitName(u.unit), static_cast<long long>(u.layer));
    for (const auto& t : tasks)
        std::printf("%s acc: full %.4f, removed %.4f, recovered %.4f\n", t.name.c_str(),
                    full["tasks"][t.name]["acc"].get<double>(), removed["tasks"][t.name]["acc"].get<double>(),
                    recovered["tasks"][t.name]["acc"].get<double>());
    return 0;
}

} // namespace layerlab::cli
