#include "adapter_fit.h"
#include "atomic_file.h"
#include "commands.h"
#include "data_options.h"
#include "device.h"
#include "error.h"
#include "evaluation.h"
#include "importance_options.h"
#include "model_options.h"
#include "multiple_choice_eval.h"
#include "multiple_choice_task.h"
#include "terminal_progress.h"
#include "tokenizer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>

namespace layerlab::cli {

namespace {

AdapterFitOptions parseMethod(const std::string& method) {
    AdapterFitOptions o;
    if (method == "bias") {
        o.method = AdapterMethod::Bias;
        return o;
    }
    if (method.rfind("lowrank:", 0) == 0) {
        o.method = AdapterMethod::LowRank;
        try {
            size_t used = 0;
            o.rank = std::stoll(method.substr(8), &used);
            if (used == method.size() - 8) return o;
        } catch (const std::exception&) {
        }
    }
    if (method.rfind("learned", 0) == 0 || method.rfind("lora", 0) == 0)
        throw UsageError("method '" + method +
                         "' (trained adapters) is not available yet; use bias or lowrank:R");
    throw UsageError("unknown --method '" + method + "' (bias or lowrank:R, R a whole number)");
}

} // namespace

int runRecover(const std::vector<std::string>& argv) {
    auto names = modelOptionNames();
    names.insert(dataOptionNames().begin(), dataOptionNames().end());
    names.insert({"remove", "method", "ridge", "batch-size", "save-adapters", "json", "tasks", "max-items",
                  "eval-data"});
    auto flags = dataFlagNames();
    flags.insert({"quiet", "no-guard"});
    Arguments args(argv, names, flags);
    auto fit = parseMethod(args.get("method", "bias"));
    fit.ridge = args.getDouble("ridge", fit.ridge);
    fit.batchSize = args.getInt("batch-size", 8);
    fit.guard = !args.flag("no-guard");
    if (args.get("adapters")) throw UsageError("recover fits adapters; --adapters is for the other commands");

    TerminalProgress bar(!args.flag("quiet"));
    auto progress = bar.progress();
    auto model = loadModel(args, progress);
    const auto mask = LayerMask::parse(args.required("remove"), model->numLayers());
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
    const auto adapters = fitAdapters(*model, calibration.windows, mask, fit, progress, &fitReport);
    const double fitSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    bar.finishLine();
    model->setAdapters(adapters);
    const auto recovered = measure(mask);
    if (auto out = args.get("save-adapters")) saveAdapters(*out, adapters);

    nlohmann::ordered_json units = nlohmann::ordered_json::array();
    for (const auto& a : adapters)
        units.push_back({{"unit", unitName(a.unit)}, {"layer", a.layer}, {"rank", a.rank()}});
    nlohmann::ordered_json j;
    j["model"] = model->dir().string();
    j["removed"] = mask.toSpec();
    j["method"] = args.get("method", "bias");
    j["ridge"] = fit.ridge;
    j["adapters"] = units;
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
    j["device"] = model->device().str();
    j["dtype"] = dtypeName(model->dtype());
    if (auto out = args.get("json")) writeFileAtomically(*out, j.dump(2) + "\n");
    std::printf("perplexity: full %.4f, removed %.4f, recovered %.4f  (%s, %s, fit %.1f s)\n",
                full["perplexity"].get<double>(), removed["perplexity"].get<double>(),
                recovered["perplexity"].get<double>(), mask.toSpec().c_str(),
                args.get("method", "bias").c_str(), fitSeconds);
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
