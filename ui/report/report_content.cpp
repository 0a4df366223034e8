#include "report/report_content.h"

#include "common/error.h"
#include "io/sha256.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>

namespace layerlab::ui {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int64_t kMaxLayers = 100000; // far beyond any model; keeps a corrupt report from exhausting memory

Unit unitFromName(const std::string& name, const fs::path& file) {
    for (Unit u : {Unit::Block, Unit::Attention, Unit::Ffn})
        if (name == unitName(u)) return u;
    throw Error(file, "unknown granularity '" + name + "'");
}

double number(const json& j, const char* key, double fallback = 0) {
    const auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}

std::string text(const json& j, const char* key) {
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// A score list; null stands for NaN, as the CLI writes it.
std::vector<double> scoreList(const json& values) {
    std::vector<double> out;
    for (const auto& v : values)
        out.push_back(v.is_null() ? std::nan("") : v.get<double>());
    return out;
}

// What kind of CLI report this is, from the fields only that command writes.
std::string kindOf(const json& j) {
    if (j.contains("format") && j.contains("layers") && j.contains("source")) return "export";
    if (j.contains("rows") && j.contains("removal_order")) return "sweep";
    if (j.contains("scores") && j.contains("num_layers")) return "importance";
    if (j.contains("method") && j.contains("recovered")) return "recover";
    if (j.contains("loss") || j.contains("tasks") || j.contains("generation") || j.contains("removed_units"))
        return "eval";
    return {};
}

std::vector<ReportTaskScore> taskScores(const json& tasks) {
    std::vector<ReportTaskScore> out;
    if (!tasks.is_object()) return out;
    for (const auto& [name, t] : tasks.items())
        out.push_back(
            {name, number(t, "acc"), number(t, "acc_norm"), static_cast<int64_t>(number(t, "items"))});
    return out;
}

json settingsOf(const json& j, const std::string& kind) {
    json s = j.value("settings", json::object());
    for (const char* key :
         {"data", "calibration_data", "eval_data", "device", "dtype", "method", "ridge", "removed"})
        if (j.contains(key) && !s.contains(key)) s[key] = j[key];
    if (kind == "export")
        for (const char* key : {"format", "dtype", "shard_size", "adapters"})
            if (j.contains(key)) s[key] = j[key];
    return s;
}

bool isTaskMetric(const std::string& metric) {
    return metric.find("task_loss") != std::string::npos;
}

std::string taskName(ReportContent& c, const fs::path& taskFile) {
    if (taskFile.empty()) return "task";
    std::string name = taskFile.stem().string();
    // Two files of one name (hellaswag.jsonl in two folders): the folder tells them apart.
    if (const auto it = c.taskFiles.find(name); it != c.taskFiles.end() && it->second != taskFile.string())
        name = taskFile.parent_path().filename().string() + "/" + name;
    c.taskFiles.emplace(name, taskFile.string());
    return name;
}

// Scores go to the table of their kind: the task-answer metrics to the task's own table, since
// each task is a run of its own with the same metric names.
ScoreTable& tableFor(ReportContent& c, const std::string& metric, const std::string& task) {
    return isTaskMetric(metric) ? c.taskScores[task] : c.scores;
}

void readImportance(ReportContent& c, const json& j, const fs::path& file) {
    const auto& s = j.value("settings", json::object());
    const std::string task = taskName(c, s.is_object() ? text(s, "task_file") : std::string());
    for (const auto& [metric, perUnit] : j.at("scores").items()) {
        for (const auto& [unit, values] : perUnit.items())
            tableFor(c, metric, task).values[metric][static_cast<size_t>(unitFromName(unit, file))] =
                scoreList(values);
    }
    if (j.contains("stderr"))
        for (const auto& [metric, perUnit] : j["stderr"].items())
            for (const auto& [unit, values] : perUnit.items())
                tableFor(c, metric, task).stdErr[metric][static_cast<size_t>(unitFromName(unit, file))] =
                    scoreList(values);
    if (s.contains("angular_n")) c.scores.angularN = s["angular_n"].get<int64_t>();
}

// A count from a number that may be anything: NaN and negatives are 0, huge ones stop at 2^53.
int64_t count(double v) {
    return v > 0 ? static_cast<int64_t>(std::min(v, 9007199254740992.0)) : 0;
}

void readCost(ReportContent& c, const json& cost, const std::string& removed) {
    if (cost.is_null()) return;
    if (!cost.is_object()) throw json::type_error::create(302, "cost is not an object", &cost);
    ReportCost r;
    r.removed = removed;
    r.attentionRemoved = count(number(cost, "attention_removed"));
    r.ffnRemoved = count(number(cost, "ffn_removed"));
    r.blocksRemoved = count(number(cost, "blocks_removed"));
    r.parametersTotal = number(cost, "parameters_total");
    r.parametersRemoved = number(cost, "parameters_removed");
    r.kvBytesPerToken = number(cost, "kv_bytes_per_token");
    r.kvBytesPerTokenSaved = number(cost, "kv_bytes_per_token_saved");
    r.flopsPerToken = number(cost, "flops_per_token");
    r.flopsPerTokenSaved = number(cost, "flops_per_token_saved");
    // One table per removal set: a later input replaces an earlier one.
    std::erase_if(c.costs, [&](const ReportCost& x) { return x.removed == removed; });
    c.costs.push_back(r);
}

void readGeneration(ReportContent& c, const json& g, const std::string& label, const std::string& removed) {
    if (!g.is_object()) throw json::type_error::create(302, "a generation sample is not an object", &g);
    ReportGeneration r;
    r.label = label;
    r.removed = g.contains("removed") ? text(g, "removed") : removed;
    r.prompt = text(g, "prompt");
    r.text = text(g, "text");
    r.stopReason = text(g, "stop_reason");
    // eval --json lists the token ids; sessions keep the count.
    const auto tokens = g.find("tokens");
    r.tokens = tokens == g.end()     ? 0
               : tokens->is_array()  ? static_cast<int64_t>(tokens->size())
               : tokens->is_number() ? tokens->get<int64_t>()
                                     : 0;
    r.maxNewTokens = static_cast<int64_t>(number(g, "max_new_tokens"));
    r.temperature = number(g, "temperature");
    r.topP = number(g, "top_p", 1);
    r.seed = static_cast<uint64_t>(count(number(g, "seed")));
    c.generations.push_back(r);
}

// Rows of `sweep --json`, or of a session's pruning curve (the same fields).
void readCurveRows(ReportContent& c, const json& rows, const fs::path& file) {
    for (const auto& row : rows) {
        ReportCurvePoint p;
        p.metric = row.at("metric").get<std::string>();
        p.unit = unitFromName(row.at("granularity").get<std::string>(), file);
        p.unitsRemoved = row.at("units_removed").get<int64_t>();
        p.parameterFraction = number(row, "parameter_fraction");
        p.removed = text(row, "removed");
        p.hasLoss = row.contains("loss") && row["loss"].is_number();
        p.loss = number(row, "loss");
        p.perplexity = number(row, "perplexity");
        c.curves.push_back(p);
    }
}

void readSweep(ReportContent& c, const json& j, const fs::path& file) {
    for (const auto& [metric, order] : j.at("removal_order").items()) // each ranks every unit
        c.layers = std::max(c.layers, static_cast<int64_t>(order.size()));
    readCurveRows(c, j.at("rows"), file);
}

void readEval(ReportContent& c, const json& j, const fs::path& file) {
    ReportEvaluation e;
    e.label = file.filename().string();
    e.removed = text(j, "removed");
    e.hasLoss = j.contains("loss");
    e.loss = number(j, "loss");
    e.perplexity = number(j, "perplexity");
    e.tasks = taskScores(j.value("tasks", json::object()));
    c.evaluations.push_back(e);
    if (j.contains("cost")) readCost(c, j["cost"], e.removed);
    if (j.contains("generation")) readGeneration(c, j["generation"], e.label, e.removed);
}

void readRecovery(ReportContent& c, const json& j) {
    ReportRecovery r;
    r.removed = text(j, "removed");
    r.method = text(j, "method");
    const auto part = [&](const char* key, double& loss, double& ppl) {
        loss = number(j.value(key, json::object()), "loss");
        ppl = number(j.value(key, json::object()), "perplexity");
    };
    part("full", r.fullLoss, r.fullPerplexity);
    part("removed_only", r.removedLoss, r.removedPerplexity);
    part("recovered", r.recoveredLoss, r.recoveredPerplexity);
    c.recoveries.push_back(r);
}

int64_t scoredLayers(const ScoreTable& table) {
    int64_t layers = 0;
    for (const auto& [metric, perUnit] : table.values)
        for (const auto& v : perUnit)
            layers = std::max(layers, static_cast<int64_t>(v.size()));
    return layers;
}

int64_t scoredLayers(const ReportContent& c) {
    int64_t layers = scoredLayers(c.scores);
    for (const auto& [task, table] : c.taskScores)
        layers = std::max(layers, scoredLayers(table));
    return layers;
}

std::string modelOf(const json& j, const std::string& kind) {
    if (kind == "export") return text(j.value("source", json::object()), "path");
    return text(j, "model");
}

void setModel(ReportContent& c, const std::string& model, const fs::path& file) {
    if (model.empty()) return;
    std::error_code ec;
    const auto dir = fs::weakly_canonical(model, ec);
    if (c.modelDir.empty()) {
        c.modelDir = dir;
    } else if (c.modelDir != dir) {
        throw Error(file, "is about " + dir.string() + ", the other inputs about " + c.modelDir.string() +
                              ": a report covers one model");
    }
}

} // namespace

ReportContent reportFromFiles(const std::vector<fs::path>& inputs) {
    if (inputs.empty())
        throw Error("no inputs: give JSON reports of importance, sweep, eval, recover or export, "
                    "or one .layerlab session");
    if (inputs.size() == 1 && inputs[0].extension() == ".layerlab")
        return reportFromSession(readSessionFile(inputs[0]), inputs[0].string());
    ReportContent c;
    for (const auto& file : inputs) {
        if (file.extension() == ".layerlab")
            throw Error(file, "a session is a report's only input; give it alone");
        std::ifstream in(file);
        if (!in) throw Error(file, "cannot be read");
        json j;
        try {
            j = json::parse(in);
        } catch (const json::exception& e) {
            throw Error(file, std::string("not valid JSON (") + e.what() + ")");
        }
        const auto kind = kindOf(j);
        if (kind.empty())
            throw Error(file, "not a LayerLab report (importance, sweep, eval, recover or export --json)");
        try {
            setModel(c, modelOf(j, kind), file);
            if (kind == "importance") {
                readImportance(c, j, file);
                const auto layers = j.at("num_layers").get<int64_t>();
                if (layers < 1 || layers > kMaxLayers)
                    throw Error(file, "num_layers " + std::to_string(layers) + " is out of range");
                c.layers = std::max(c.layers, layers);
            } else if (kind == "sweep") {
                readSweep(c, j, file);
            } else if (kind == "eval") {
                readEval(c, j, file);
            } else if (kind == "recover") {
                readRecovery(c, j);
            } else {
                c.exportManifest = j;
                const auto layers = j.at("source").value("num_layers", int64_t{0});
                if (layers < 0 || layers > kMaxLayers)
                    throw Error(file, "num_layers " + std::to_string(layers) + " is out of range");
                c.layers = std::max(c.layers, layers);
                if (!j.value("runtimes", json::array()).is_array())
                    throw Error(file, "runtimes is not a list");
            }
            const auto settings = settingsOf(j, kind);
            if (c.device.empty() && settings.contains("device") && settings["device"].is_string())
                c.device = settings["device"].get<std::string>();
            if (c.dtype.empty() && settings.contains("dtype") && settings["dtype"].is_string())
                c.dtype = settings["dtype"].get<std::string>();
            // Importance for a task's answers has its own section, with its own commands.
            const bool forTask =
                kind == "importance" && settings.value("value_function", json()) == "task_loss";
            c.sources.push_back(
                {file.string(), forTask ? "task importance" : kind, text(j, "command"), settings});
        } catch (const json::exception& e) {
            throw Error(file, "malformed " + kind + " report (" + e.what() + ")");
        }
    }
    c.layers = std::max(c.layers, scoredLayers(c));
    if (c.layers > kMaxLayers)
        throw Error("the inputs have scores for " + std::to_string(c.layers) + " layers");
    c.title = "Depth pruning report: " + c.modelDir.filename().string();
    return c;
}

ReportContent reportFromSession(const Session& session, const std::string& sourceName) {
    ReportContent c;
    c.modelDir = session.modelDir;
    c.device = session.device;
    c.dtype = session.dtype;
    c.removed = session.removed;
    // The workbench's task_loss is the loss on the first task file's right answers.
    const std::string task = taskName(c, session.taskFiles.empty() ? fs::path() : session.taskFiles.front());
    for (const auto& [metric, perUnit] : session.scores)
        tableFor(c, metric, task).values[metric] = perUnit;
    for (const auto& [metric, perUnit] : session.scoreStdErr)
        tableFor(c, metric, task).stdErr[metric] = perUnit;
    c.scores.angularN = session.angularN;
    c.layers = scoredLayers(c);
    for (const auto& e : session.evaluations) {
        ReportEvaluation r;
        r.label = (e.role == "baseline" ? std::string("full model") : std::string("removal set")) +
                  (e.level == 0 ? " (quick sample)" : " (refined sample)");
        r.level = e.level;
        r.removed = e.role == "baseline" ? std::string() : e.removed;
        r.hasLoss = e.hasLoss;
        r.loss = e.loss;
        r.perplexity = e.perplexity;
        for (const auto& t : e.tasks)
            r.tasks.push_back({t.task, t.acc, t.accNorm, t.items});
        c.evaluations.push_back(r);
    }
    try {
        if (session.recovery.is_object() && session.recovery.contains("results"))
            for (const auto& r : session.recovery["results"])
                readRecovery(c, r);
        if (session.pruningCurve.is_array()) readCurveRows(c, session.pruningCurve, sourceName);
        readCost(c, session.cost, session.removed);
        if (session.generations.is_array())
            for (const auto& g : session.generations)
                readGeneration(c, g, "workbench", session.removed);
    } catch (const json::exception& e) {
        throw Error(sourceName, std::string("malformed recovery results, pruning curve, cost or generation "
                                            "samples (") +
                                    e.what() + ")");
    }
    json settings = {{"calibration_file", session.calibrationFile.string()},
                     {"seq_len", session.seqLen},
                     {"importance_windows", session.importanceWindows},
                     {"evaluation_windows", session.evaluationWindows},
                     {"evaluation_items", session.evaluationItems},
                     {"device", session.device},
                     {"dtype", session.dtype},
                     {"removed", session.removed}};
    json tasks = json::array();
    for (const auto& t : session.taskFiles)
        tasks.push_back(t.string());
    settings["task_files"] = tasks;
    if (!session.adapters.empty()) settings["adapters"] = session.adapters.string();
    // The workbench made it: there is no command line to repeat.
    c.sources.push_back({sourceName, "session", {}, settings});
    c.title = "Depth pruning report: " + c.modelDir.filename().string();
    return c;
}

void hashModelFiles(ReportContent& c, const Progress& progress) {
    c.modelFiles.clear();
    std::error_code ec;
    if (c.modelDir.empty() || !fs::is_directory(c.modelDir, ec)) return;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(c.modelDir, ec)) {
        const auto name = entry.path().filename().string();
        const auto ext = entry.path().extension().string();
        if (entry.is_regular_file() && (ext == ".safetensors" || ext == ".json" || name == "tokenizer.model"))
            files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    uint64_t total = 0, done = 0;
    for (const auto& f : files) {
        const auto bytes = fs::file_size(f, ec);
        total += ec ? 0 : bytes;
    }
    for (const auto& f : files) {
        const auto bytes = fs::file_size(f, ec);
        ReportFile r{f.filename().string(), ec ? 0 : bytes, {}};
        const uint64_t before = done;
        try {
            r.sha256 = sha256File(f, [&](uint64_t n) {
                progress.checkCancelled();
                progress.report("hashing the model's files", static_cast<int64_t>((before + n) >> 20),
                                static_cast<int64_t>(total >> 20), "MiB");
            });
        } catch (const Error&) { // unreadable now: listed without a hash
        }
        done += r.bytes;
        c.modelFiles.push_back(r);
    }
}

} // namespace layerlab::ui
