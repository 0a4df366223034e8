#include "atomic_file.h"
#include "commands.h"
#include "data_options.h"
#include "device.h"
#include "error.h"
#include "importance.h"
#include "model_options.h"
#include "shapley.h"
#include "taylor.h"
#include "terminal_progress.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

namespace layerlab::cli {

namespace {

std::vector<std::string> splitList(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string item; std::getline(ss, item, ',');)
        if (!item.empty()) out.push_back(item);
    return out;
}

Unit parseUnit(const std::string& g) {
    if (g == "block") return Unit::Block;
    if (g == "attn") return Unit::Attention;
    if (g == "ffn") return Unit::Ffn;
    throw UsageError("unknown granularity '" + g + "' (use block, attn, ffn)");
}

// Copies the wanted metrics and granularities of one result into the report.
void merge(const ImportanceScores& from, const std::vector<Unit>& units, nlohmann::ordered_json& scores,
           nlohmann::ordered_json& stderrs) {
    for (const auto& [metric, byUnit] : from.scores)
        for (Unit u : units)
            if (!byUnit[u].empty()) scores[metric][unitName(u)] = byUnit[u];
    for (const auto& [metric, byUnit] : from.stdErr)
        for (Unit u : units)
            if (!byUnit[u].empty()) stderrs[metric][unitName(u)] = byUnit[u];
}

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

} // namespace

int runImportance(const std::vector<std::string>& argv) {
    auto names = modelOptionNames();
    names.insert(dataOptionNames().begin(), dataOptionNames().end());
    names.insert({"metrics", "granularity", "angular-n", "shapley-samples", "shapley-target-se",
                  "shapley-budget", "batch-size", "json", "csv"});
    auto flags = dataFlagNames();
    flags.insert("quiet");
    Arguments args(argv, names, flags);
    const auto metrics = splitList(args.get("metrics", "cosine,drop_loss"));
    std::vector<Unit> units;
    for (const auto& g : splitList(args.get("granularity", "block,attn,ffn")))
        units.push_back(parseUnit(g));
    for (const auto& m : metrics)
        if (m != "cosine" && m != "angular" && m != "drop_loss" && m != "taylor" && m != "shapley" &&
            m != "l1_update" && m != "l2_update" && m != "rel_l1_update" && m != "rel_l2_update")
            throw UsageError("unknown metric '" + m + "' (cosine, angular, drop_loss, taylor, shapley, " +
                             "l1_update, l2_update, rel_l1_update, rel_l2_update)");
    auto wants = [&](const std::string& m) {
        return std::find(metrics.begin(), metrics.end(), m) != metrics.end();
    };

    TerminalProgress bar(!args.flag("quiet"));
    auto progress = bar.progress();
    auto model = loadModel(args, progress);
    const auto data = loadData(args, *model, progress);
    // Like eval's elapsed_s: the computation only, not loading.
    const auto start = std::chrono::steady_clock::now();
    const int64_t batch = args.getInt("batch-size", 8);

    nlohmann::ordered_json scores = nlohmann::ordered_json::object(),
                           stderrs = nlohmann::ordered_json::object();
    nlohmann::ordered_json settings;
    double baseLoss = 0;
    bool haveBase = false;
    const bool residual = wants("cosine") || wants("angular") || wants("l1_update") || wants("l2_update") ||
                          wants("rel_l1_update") || wants("rel_l2_update");
    if (residual) {
        ResidualMetricsOptions o;
        o.batchSize = batch;
        o.angularN = wants("angular") ? args.getInt("angular-n", 1) : 0;
        auto r = residualMetrics(*model, data.windows, o, progress);
        for (auto it = r.scores.scores.begin(); it != r.scores.scores.end();)
            it = wants(it->first) ? std::next(it) : r.scores.scores.erase(it);
        merge(r.scores, units, scores, stderrs);
        if (wants("angular")) {
            settings["angular_n"] = r.angularN;
            settings["best_angular_start"] = r.bestAngularStart;
        }
    }
    if (wants("drop_loss")) {
        auto r = dropLoss(*model, data.windows, units, {batch}, progress);
        merge(r, units, scores, stderrs);
        baseLoss = r.fullLoss;
        haveBase = true;
    }
    if (wants("taylor")) {
        auto r = taylor(*model, data.windows, {batch}, progress);
        merge(r, units, scores, stderrs);
        if (!haveBase) baseLoss = r.fullLoss, haveBase = true;
    }
    if (wants("shapley")) {
        nlohmann::ordered_json shapleySettings;
        for (Unit u : units) {
            ShapleyOptions o;
            o.batchSize = batch;
            o.unit = u;
            o.targetStdErr = args.getDouble("shapley-target-se", 0);
            o.maxForwardPasses = args.getDouble("shapley-budget", 0);
            if (auto samples = args.get("shapley-samples")) {
                o.maxPairs = std::max<int64_t>(1, args.getInt("shapley-samples", 0) / 2);
                o.minPairs = std::min(o.minPairs, o.maxPairs);
            }
            o.seed = static_cast<uint64_t>(args.getInt("seed", 0));
            auto r = shapley(*model, data.windows, o, progress);
            merge(r.scores, {u}, scores, stderrs);
            shapleySettings[unitName(u)] = {{"exact", r.exact},
                                            {"permutations", r.permutations},
                                            {"coalitions", r.coalitions},
                                            {"forward_passes", r.scores.forwardPasses},
                                            {"naive_forward_passes", r.scores.naiveForwardPasses}};
        }
        settings["shapley"] = shapleySettings;
    }
    bar.finishLine();

    nlohmann::ordered_json j;
    j["model"] = model->dir().string();
    j["num_layers"] = model->numLayers();
    j["tokens"] = data.description.scoredTokens;
    if (haveBase) j["base_loss"] = baseLoss;
    j["scores"] = scores;
    j["stderr"] = stderrs;
    settings["metrics"] = metrics;
    settings["data"] = toJson(data.description);
    settings["device"] = model->device().str();
    settings["dtype"] = dtypeName(model->dtype());
    settings["batch_size"] = batch;
    j["settings"] = settings;
    j["elapsed_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (auto out = args.get("json")) writeFileAtomically(*out, j.dump(2) + "\n");
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
