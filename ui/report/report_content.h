#pragma once
// What a pruning report shows, gathered from the CLI's JSON reports (importance, sweep, eval,
// recover, export) or from one workbench session: the data of each figure of arXiv 2407.16286
// that the inputs hold, and where every number came from (files, options, commands). Plain data;
// report_document.h draws it.

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/progress.h"
#include "model/layer_mask.h"
#include "session/session_file.h"
#include "workspace/score_table.h"

namespace layerlab::ui {

// One point of a pruning curve: quality after removing the `unitsRemoved` least important units.
struct ReportCurvePoint {
    std::string metric;
    Unit unit = Unit::Block;
    int64_t unitsRemoved = 0;
    double parameterFraction = 0; // of the model's parameters removed
    std::string removed;          // the removal set
    bool hasLoss = false;         // false for points with task scores only
    double loss = 0, perplexity = 0;
};

struct ReportTaskScore {
    std::string task;
    double acc = 0, accNorm = 0;
    int64_t items = 0;
};

// An evaluation of the full model or of a removal set (eval reports, the session's results).
struct ReportEvaluation {
    std::string label; // where it came from: a file name, "full model", "removal set"
    int level = -1;    // the workbench's sample (0 quick, 1 refined); -1 for eval reports
    std::string removed;
    bool hasLoss = false;
    double loss = 0, perplexity = 0;
    std::vector<ReportTaskScore> tasks;
};

// Recovery of one removal set by one adapter method: full / removed / recovered.
struct ReportRecovery {
    std::string removed, method;
    double fullLoss = 0, removedLoss = 0, recoveredLoss = 0;
    double fullPerplexity = 0, removedPerplexity = 0, recoveredPerplexity = 0;
};

// What a removal set saves (pruningCostJson), from eval reports or a session.
struct ReportCost {
    std::string removed;
    int64_t attentionRemoved = 0, ffnRemoved = 0, blocksRemoved = 0;
    double parametersTotal = 0, parametersRemoved = 0;
    double kvBytesPerToken = 0, kvBytesPerTokenSaved = 0;
    double flopsPerToken = 0, flopsPerTokenSaved = 0;
};

// What the model wrote for a prompt under a removal set (eval --generate, the Generate tab).
struct ReportGeneration {
    std::string label; // the input it came from
    std::string removed, prompt, text, stopReason;
    int64_t tokens = 0, maxNewTokens = 0;
    double temperature = 0, topP = 1;
    uint64_t seed = 0;
};

// An input and how it was made.
struct ReportSource {
    std::string file;        // as given
    std::string kind;        // importance, task importance, sweep, eval, recover, export, session
    std::string command;     // the command line that made it, when recorded
    nlohmann::json settings; // options, data, device, dtype as the input records them
};

struct ReportFile {
    std::string name; // relative to the model folder
    uint64_t bytes = 0;
    std::string sha256; // empty when not hashed
};

struct ReportContent {
    std::string title;
    std::filesystem::path modelDir;
    int64_t layers = 0;
    std::string device, dtype;
    ScoreTable scores; // importance per metric and granularity, the task-answer metrics left out
    // The task-answer metrics (drop_task_loss, shapley_task_loss, ...) per task (the task file's
    // name without extension; "task" when not recorded).
    std::map<std::string, ScoreTable> taskScores;
    std::map<std::string, std::string> taskFiles; // task name -> its file
    std::vector<ReportCurvePoint> curves;         // pruning curves, any metric and granularity
    std::vector<ReportEvaluation> evaluations;
    std::vector<ReportRecovery> recoveries;
    std::vector<ReportCost> costs; // one per removal set
    std::vector<ReportGeneration> generations;
    std::string removed;           // the session's removal set
    nlohmann::json exportManifest; // null without an export
    std::vector<ReportSource> sources;
    std::vector<ReportFile> modelFiles;   // config, tokenizer and weights, with SHA-256s
    std::string layerlabVersion, created; // of this report
};

// Reads CLI JSON reports (their kind told by their fields) or one .layerlab session. Inputs about
// different models are refused. Throws Error naming the file for anything unreadable or unknown.
ReportContent reportFromFiles(const std::vector<std::filesystem::path>& inputs);
ReportContent reportFromSession(const Session& session, const std::string& sourceName);

// Fills modelFiles: the model folder's config, tokenizer and weight files with their SHA-256s
// (files that are gone are listed without one). Reports progress in MiB hashed; cancellable.
void hashModelFiles(ReportContent& content, const Progress& progress);

} // namespace layerlab::ui
