#include "commands.h"
#include "common/error.h"
#include "data_options.h"
#include "importance/importance_request.h"
#include "importance_options.h"
#include "io/atomic_file.h"
#include "json_report.h"
#include "model/device.h"
#include "model_options.h"
#include "terminal_progress.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

namespace layerlab::cli {

namespace {

void writeCsv(const std::filesystem::path& path, const nlohmann::ordered_json& scores,
              const nlohmann::ordered_json& stderrs) {
    std::ostringstream out;
    out << "metric,granularity,layer,score,stderr\n";
    for (const auto& [metric, byUnit] : scores.items())
        for (const auto& [unit, values] : byUnit.items())
            for (size_t l = 0; l < values.size(); ++l) {
                out << metric << "," << unit << "," << l << "," << values[l].get<double>() << ",";
                if (stderrs.contains(metric) && stderrs[metric].contains(unit))
                    out << stderrs[metric][unit][l].get<double>();
                out << "\n";
            }
    writeFileAtomically(path, out.str());
}

// Scores of the wanted units in the report's layout: scores[metric][granularity] = [per layer].
void addScores(const ImportanceScores& from, const std::vector<Unit>& units, nlohmann::ordered_json& scores,
               nlohmann::ordered_json& stderrs) {
    for (const auto& [metric, byUnit] : from.scores)
        for (Unit u : units)
            if (!byUnit[u].empty()) scores[metric][unitName(u)] = byUnit[u];
    for (const auto& [metric, byUnit] : from.stdErr)
        for (Unit u : units)
            if (!byUnit[u].empty()) stderrs[metric][unitName(u)] = byUnit[u];
}

} // namespace

int runImportance(const std::vector<std::string>& argv) {
    auto names = modelOptionNames();
    names.insert(dataOptionNames().begin(), dataOptionNames().end());
    names.insert(importanceOptionNames().begin(), importanceOptionNames().end());
    names.insert({"metrics", "granularity", "json", "csv", "max-items"});
    auto flags = dataFlagNames();
    flags.insert("quiet");
    Arguments args(argv, names, flags);
    const auto metrics = splitList(args.get("metrics", "cosine,drop_loss"));
    std::vector<Unit> units;
    for (const auto& g : splitList(args.get("granularity", "block,attn,ffn")))
        units.push_back(parseUnit(g));
    try {
        checkImportanceMetrics(metrics);
    } catch (const Error& e) {
        throw UsageError(e.what());
    }

    TerminalProgress bar(!args.flag("quiet"));
    auto progress = bar.progress();
    auto model = loadModel(args, progress);
    const auto data = loadData(args, *model, progress);
    auto request = importanceRequest(args, *model, progress);
    request.metrics = metrics;
    request.units = units;
    const auto report = computeImportance(*model, data.windows, request, progress);
    bar.finishLine();

    nlohmann::ordered_json scores = nlohmann::ordered_json::object(),
                           stderrs = nlohmann::ordered_json::object();
    addScores(report.scores, units, scores, stderrs);
    nlohmann::ordered_json settings = report.settings;
    const bool haveBase = report.scores.scoredTokens > 0;
    const double baseLoss = report.scores.fullLoss;
    const int64_t batch = request.batchSize;
    nlohmann::ordered_json j;
    j["model"] = model->dir().string();
    j["num_layers"] = model->numLayers();
    j["tokens"] = data.description.scoredTokens;
    if (haveBase) j["base_loss"] = baseLoss;
    j["scores"] = scores;
    j["stderr"] = stderrs;
    settings["metrics"] = metrics;
    settings["data"] = toJson(data.description);
    settings["device"] = model->deviceMap().describe();
    settings["dtype"] = dtypeName(model->dtype());
    settings["batch_size"] = batch;
    // Which task a task_loss score is for: reports lay several of them out as layers x tasks.
    if (const auto value = args.get("value-function"); value && value->rfind("task_loss:", 0) == 0)
        settings["task_file"] = value->substr(10);
    j["settings"] = settings;
    // Like eval's elapsed_s: the computation only, not loading.
    j["elapsed_s"] = report.seconds;
    if (auto out = args.get("json")) writeJsonReport(*out, j, "importance", argv);
    if (auto out = args.get("csv")) writeCsv(*out, scores, stderrs);

    // A table for the terminal: one row per layer, one column per metric x granularity.
    std::printf("%-6s", "layer");
    for (const auto& [metric, byUnit] : scores.items())
        for (const auto& [unit, values] : byUnit.items())
            std::printf(" %14s", (metric + ":" + unit).substr(0, 14).c_str());
    std::printf("\n");
    for (int64_t l = 0; l < model->numLayers(); ++l) {
        std::printf("%-6lld", static_cast<long long>(l));
        for (const auto& [metric, byUnit] : scores.items())
            for (const auto& [unit, values] : byUnit.items()) {
                if (l < static_cast<int64_t>(values.size()))
                    std::printf(" %14.6g", values[l].get<double>());
                else
                    std::printf(" %14s", "");
            }
        std::printf("\n");
    }
    if (settings.contains("best_angular_start"))
        std::printf("best run of %lld blocks to cut (angular): blocks %lld-%lld\n",
                    static_cast<long long>(settings["angular_n"].get<int64_t>()),
                    static_cast<long long>(settings["best_angular_start"].get<int64_t>()),
                    static_cast<long long>(settings["best_angular_start"].get<int64_t>() +
                                           settings["angular_n"].get<int64_t>() - 1));
    return 0;
}

} // namespace layerlab::cli
