#include "commands.h"
#include "common/error.h"
#include "data/multiple_choice_task.h"
#include "data_options.h"
#include "eval/evaluation.h"
#include "eval/multiple_choice_eval.h"
#include "export/pruning_cost.h"
#include "export/pruning_plan.h"
#include "importance/importance_request.h"
#include "importance_options.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "json_report.h"
#include "model/device.h"
#include "model_options.h"
#include "terminal_progress.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <sstream>

namespace layerlab::cli {

namespace {

// Scores per layer of `metric` at `unit` from an `importance --json` report.
std::vector<double> scoresFromReport(const nlohmann::json& report, const std::filesystem::path& file,
                                     const std::string& metric, Unit unit, int64_t numLayers) {
    const auto scores = report.find("scores");
    if (scores == report.end() || !scores->is_object() || !scores->contains(metric) ||
        !(*scores)[metric].contains(unitName(unit)))
        throw Error(file, std::string("has no ") + metric + " scores for " + unitName(unit));
    const auto& values = (*scores)[metric][unitName(unit)];
    if (!values.is_array() || static_cast<int64_t>(values.size()) != numLayers)
        throw Error(file, metric + " scores for " + unitName(unit) + " must be a list of " +
                              std::to_string(numLayers) + " numbers (one per layer of this model)");
    std::vector<double> out;
    for (const auto& v : values) {
        if (!v.is_number()) throw Error(file, metric + " scores must be numbers");
        out.push_back(v.get<double>());
    }
    return out;
}

std::string csvField(const nlohmann::ordered_json& v) {
    if (v.is_string()) return "\"" + v.get<std::string>() + "\"";
    if (v.is_null()) return "";
    return v.dump();
}

} // namespace

int runSweep(const std::vector<std::string>& argv) {
    auto names = modelOptionNames();
    names.insert(dataOptionNames().begin(), dataOptionNames().end());
    names.insert(importanceOptionNames().begin(), importanceOptionNames().end());
    names.insert({"metric", "order", "granularity", "steps", "max-removed", "importance", "eval-data",
                  "tasks", "max-items", "json", "csv"});
    auto flags = dataFlagNames();
    flags.insert({"quiet", "one-at-a-time"});
    Arguments args(argv, names, flags);
    // --order is the same thing said the paper's way: the order in which units go.
    if (args.get("metric") && args.get("order")) throw UsageError("give --metric or --order, not both");
    if (!args.get("metric") && !args.get("order"))
        throw UsageError("option --metric (or --order) is required");
    const auto metrics = splitList(args.get("metric") ? *args.get("metric") : *args.get("order"));
    const Unit unit = parseUnit(args.get("granularity", "block"));
    for (const auto& m : metrics) {
        try {
            metricOfScores(m); // score names of every metric, value-function suffixes included
        } catch (const Error& e) {
            throw UsageError(e.what());
        }
        if (m == "angular" && unit != Unit::Block)
            throw UsageError("the angular plan removes blocks (--granularity block)");
    }
    if (args.get("steps") && args.flag("one-at-a-time"))
        throw UsageError("give --steps or --one-at-a-time, not both");

    TerminalProgress bar(!args.flag("quiet"));
    auto progress = bar.progress();
    auto model = loadModel(args, progress);
    const int64_t L = model->numLayers();
    std::vector<int64_t> steps;
    if (args.flag("one-at-a-time")) {
        for (int64_t k = 0; k <= args.getInt("max-removed", L - 1); ++k)
            steps.push_back(k);
    } else {
        for (const auto& s : splitList(args.get("steps", "0,1,2,4,8"))) {
            try {
                steps.push_back(std::stoll(s));
            } catch (const std::exception&) {
                throw UsageError("--steps must be a list of whole numbers, not '" + s + "'");
            }
        }
    }
    for (int64_t k : steps)
        if (k < 0 || k > L)
            throw UsageError("--steps: " + std::to_string(k) + " is not between 0 and " + std::to_string(L));

    const auto calibration = loadData(args, *model, progress);
    const auto evalFile =
        args.get("eval-data") ? std::filesystem::path(*args.get("eval-data")) : calibration.description.file;
    const auto evalData = args.get("eval-data") ? loadData(args, *model, progress, evalFile) : calibration;
    const auto tasks = loadTasks(args, progress);
    std::optional<Tokenizer> tokenizer;
    if (!tasks.empty()) tokenizer.emplace(Tokenizer::load(model->dir()));
    std::optional<nlohmann::json> report;
    std::filesystem::path reportFile;
    if (auto file = args.get("importance")) {
        reportFile = *file;
        report = readJsonFile(reportFile, 256 << 20);
    }
    auto request = importanceRequest(args, *model, progress);
    request.units = {unit};
    const auto counts = model->parameterCounts();
    const int64_t kvBytes = static_cast<int64_t>(c10::elementSize(model->dtype()));
    const int64_t batch = request.batchSize;
    const auto start = std::chrono::steady_clock::now();

    nlohmann::ordered_json rows = nlohmann::ordered_json::array();
    auto evaluate = [&](const std::string& metric, int64_t k, const LayerMask& mask) {
        const auto cost = pruningCost(model->config(), counts, mask, kvBytes);
        const auto loss = evaluateLoss(*model, evalData.windows, mask, {batch, {}}, progress);
        nlohmann::ordered_json row = {{"metric", metric},
                                      {"granularity", unitName(unit)},
                                      {"units_removed", k},
                                      {"removed", mask.toSpec()},
                                      {"parameters_removed", cost.parametersRemoved},
                                      {"parameter_fraction", cost.parameterFraction},
                                      {"kv_bytes_per_token_saved", cost.kvBytesPerTokenSaved},
                                      {"flops_per_token_saved", cost.flopsPerTokenSaved},
                                      {"loss", loss.loss},
                                      {"perplexity", loss.perplexity}};
        for (const auto& t : tasks) {
            const auto r = evaluateMultipleChoice(*model, *tokenizer, t, mask, {batch}, progress);
            row[t.name + "_acc"] = r.acc;
            row[t.name + "_acc_norm"] = r.accNorm;
        }
        bar.finishLine();
        std::printf("%-16s k=%-3lld ppl %10.4f  params -%5.1f%%  %s\n", metric.c_str(),
                    static_cast<long long>(k), loss.perplexity, 100 * cost.parameterFraction,
                    mask.empty() ? "(full model)" : mask.toSpec().c_str());
        std::fflush(stdout);
        rows.push_back(row);
    };

    nlohmann::ordered_json orders = nlohmann::ordered_json::object();
    for (const auto& metric : metrics) {
        if (metric == "angular") {
            // The best run of k consecutive blocks for each k (Gromov et al.): one residual pass per k.
            for (int64_t k : steps) {
                LayerMask mask(L);
                if (k > 0 && k < L) {
                    auto r = request;
                    r.metrics = {"angular"};
                    r.angularN = k;
                    const auto scores = computeImportance(*model, calibration.windows, r, progress);
                    mask =
                        removeConsecutiveBlocks(L, scores.settings["best_angular_start"].get<int64_t>(), k);
                } else if (k == L) {
                    mask = removeConsecutiveBlocks(L, 0, L);
                }
                evaluate(metric, k, mask);
            }
            continue;
        }
        std::vector<double> scores;
        if (report && report->contains("scores") && (*report)["scores"].contains(metric)) {
            scores = scoresFromReport(*report, reportFile, metric, unit, L);
        } else {
            auto r = request;
            r.metrics = {metricOfScores(metric)};
            const auto computed = computeImportance(*model, calibration.windows, r, progress);
            const auto it = computed.scores.scores.find(metric);
            if (it == computed.scores.scores.end() || it->second[unit].empty())
                throw UsageError("metric '" + metric + "' gives no scores for " + unitName(unit) +
                                 " with these options (a value-function suffix must match --value-function)");
            scores = it->second[unit];
        }
        orders[metric] = removalOrder(scores);
        for (int64_t k : steps)
            evaluate(metric, k, removeLeastImportant(LayerMask(L), unit, scores, k));
    }

    nlohmann::ordered_json j;
    j["model"] = model->dir().string();
    j["granularity"] = unitName(unit);
    j["metrics"] = metrics;
    j["steps"] = steps;
    j["removal_order"] = orders;
    j["rows"] = rows;
    j["settings"] = {
        {"calibration_data", toJson(calibration.description)},
        {"eval_data", toJson(evalData.description)},
        {"importance_file", report ? nlohmann::ordered_json(reportFile.string()) : nlohmann::ordered_json()},
        {"device", model->deviceMap().describe()},
        {"dtype", dtypeName(model->dtype())},
        {"batch_size", batch}};
    j["elapsed_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (auto out = args.get("json")) writeJsonReport(*out, j, "sweep", argv);
    if (auto out = args.get("csv")) {
        std::ostringstream csv;
        bool header = true;
        for (const auto& row : rows) {
            if (header) {
                bool first = true;
                for (const auto& [key, value] : row.items())
                    csv << (first ? "" : ",") << key, first = false;
                csv << "\n";
                header = false;
            }
            bool first = true;
            for (const auto& [key, value] : row.items())
                csv << (first ? "" : ",") << csvField(value), first = false;
            csv << "\n";
        }
        writeFileAtomically(*out, csv.str());
    }
    return 0;
}

} // namespace layerlab::cli
