#include "session/session_file.h"

#include "common/error.h"
#include "io/atomic_file.h"
#include "io/json_file.h"

#include <cmath>

namespace layerlab {

namespace {

constexpr uint64_t kMaxSessionBytes = 64ull << 20;
constexpr size_t kMaxLayers = 100000;
constexpr size_t kMaxEntries = 10000; // metrics, tasks, evaluations, task files

const char* kUnitKeys[3] = {"block", "attn", "ffn"};

nlohmann::json perUnitToJson(const SessionPerUnit& p) {
    nlohmann::json j = nlohmann::json::object();
    for (int u = 0; u < 3; ++u)
        if (!p[static_cast<size_t>(u)].empty()) j[kUnitKeys[u]] = p[static_cast<size_t>(u)];
    return j;
}

// Reads fields with checks; every problem names the source file and the field.
class Reader {
public:
    explicit Reader(const std::filesystem::path& source) : source_(source) {}

    [[noreturn]] void fail(const std::string& field, const std::string& problem) const {
        throw Error(source_, "session field '" + field + "' " + problem);
    }

    const nlohmann::json& object(const nlohmann::json& j, const std::string& field) const {
        if (!j.is_object()) fail(field, "is not an object");
        return j;
    }
    std::string string(const nlohmann::json& parent, const std::string& key, const std::string& field,
                       const std::string& fallback = {}) const {
        if (!parent.contains(key)) return fallback;
        const auto& v = parent[key];
        if (!v.is_string()) fail(field, "is not a string");
        return v.get<std::string>();
    }
    int64_t integer(const nlohmann::json& parent, const std::string& key, const std::string& field,
                    int64_t lo, int64_t hi, int64_t fallback) const {
        if (!parent.contains(key)) return fallback;
        const auto& v = parent[key];
        if (!v.is_number_integer()) fail(field, "is not a whole number");
        const auto x = v.get<int64_t>();
        if (x < lo || x > hi)
            fail(field, "is out of range (" + std::to_string(lo) + " to " + std::to_string(hi) + ")");
        return x;
    }
    double number(const nlohmann::json& parent, const std::string& key, const std::string& field) const {
        if (!parent.contains(key)) return 0;
        const auto& v = parent[key];
        if (v.is_null()) return std::nan(""); // JSON has no NaN; we write null for it
        if (!v.is_number()) fail(field, "is not a number");
        return v.get<double>();
    }
    bool boolean(const nlohmann::json& parent, const std::string& key, const std::string& field) const {
        if (!parent.contains(key)) return false;
        const auto& v = parent[key];
        if (!v.is_boolean()) fail(field, "is not true or false");
        return v.get<bool>();
    }
    const nlohmann::json& array(const nlohmann::json& v, const std::string& field, size_t maxSize) const {
        if (!v.is_array()) fail(field, "is not an array");
        if (v.size() > maxSize) fail(field, "has more than " + std::to_string(maxSize) + " entries");
        return v;
    }
    std::vector<double> numbers(const nlohmann::json& v, const std::string& field) const {
        std::vector<double> out;
        for (const auto& x : array(v, field, kMaxLayers)) {
            if (x.is_null())
                out.push_back(std::nan(""));
            else if (x.is_number())
                out.push_back(x.get<double>());
            else
                fail(field, "holds something that is not a number");
        }
        return out;
    }
    std::filesystem::path path(const nlohmann::json& parent, const std::string& key, const std::string& field,
                               const std::filesystem::path& baseDir) const {
        const auto text = string(parent, key, field);
        if (text.empty()) return {};
        if (text.find('\0') != std::string::npos) fail(field, "holds a NUL character");
        std::filesystem::path p(text);
        return p.is_absolute() || baseDir.empty() ? p : baseDir / p;
    }
    std::map<std::string, SessionPerUnit> scores(const nlohmann::json& v, const std::string& field) const {
        std::map<std::string, SessionPerUnit> out;
        object(v, field);
        if (v.size() > kMaxEntries) fail(field, "has more than " + std::to_string(kMaxEntries) + " metrics");
        for (const auto& [metric, perUnit] : v.items()) {
            const std::string f = field + "." + metric;
            object(perUnit, f);
            auto& entry = out[metric];
            for (const auto& [unit, values] : perUnit.items()) {
                int u = 0;
                while (u < 3 && unit != kUnitKeys[u])
                    ++u;
                if (u == 3) fail(f + "." + unit, "is not a granularity (block, attn or ffn)");
                entry[static_cast<size_t>(u)] = numbers(values, f + "." + unit);
            }
        }
        return out;
    }

private:
    std::filesystem::path source_;
};

} // namespace

nlohmann::json sessionToJson(const Session& s) {
    nlohmann::ordered_json j;
    j["format"] = "layerlab-session";
    j["version"] = Session::kVersion;
    j["model"] = {{"dir", s.modelDir.string()}, {"device", s.device}, {"dtype", s.dtype}};
    nlohmann::json tasks = nlohmann::json::array();
    for (const auto& t : s.taskFiles)
        tasks.push_back(t.string());
    j["data"] = {{"calibration", s.calibrationFile.string()},
                 {"tasks", tasks},
                 {"seq_len", s.seqLen},
                 {"importance_windows", s.importanceWindows},
                 {"evaluation_windows", s.evaluationWindows},
                 {"evaluation_items", s.evaluationItems}};
    j["removed"] = s.removed;
    j["adapters"] = s.adapters.string();
    nlohmann::json scores = nlohmann::json::object(), stdErr = nlohmann::json::object();
    for (const auto& [m, p] : s.scores)
        scores[m] = perUnitToJson(p);
    for (const auto& [m, p] : s.scoreStdErr)
        stdErr[m] = perUnitToJson(p);
    j["scores"] = scores;
    j["score_stderr"] = stdErr;
    j["angular_n"] = s.angularN;
    nlohmann::json evals = nlohmann::json::array();
    for (const auto& e : s.evaluations) {
        nlohmann::json t = nlohmann::json::array();
        for (const auto& x : e.tasks)
            t.push_back({{"task", x.task},
                         {"acc", x.acc},
                         {"acc_norm", x.accNorm},
                         {"acc_stderr", x.accStderr},
                         {"acc_norm_stderr", x.accNormStderr},
                         {"items", x.items}});
        evals.push_back({{"role", e.role},
                         {"level", e.level},
                         {"removed", e.removed},
                         {"has_loss", e.hasLoss},
                         {"loss", e.loss},
                         {"perplexity", e.perplexity},
                         {"tokens", e.tokens},
                         {"windows", e.windows},
                         {"tasks", t}});
    }
    j["evaluations"] = evals;
    j["recovery"] = s.recovery;
    if (!s.pruningCurve.is_null()) j["pruning_curve"] = s.pruningCurve;
    if (!s.cost.is_null()) j["cost"] = s.cost;
    if (!s.generations.is_null()) j["generations"] = s.generations;
    return nlohmann::json(j);
}

Session sessionFromJson(const nlohmann::json& j, const std::filesystem::path& source,
                        const std::filesystem::path& baseDir) {
    Reader r(source);
    r.object(j, "(top level)");
    if (r.string(j, "format", "format") != "layerlab-session")
        throw Error(source, "is not a LayerLab session (\"format\" is not \"layerlab-session\")");
    const auto version = r.integer(j, "version", "version", 1, 1000000, 0);
    if (version != Session::kVersion)
        throw Error(source, "is a session of version " + std::to_string(version) +
                                "; this LayerLab reads version " + std::to_string(Session::kVersion));
    Session s;
    if (!j.contains("model")) throw Error(source, "session has no \"model\"");
    const auto& m = r.object(j["model"], "model");
    s.modelDir = r.path(m, "dir", "model.dir", baseDir);
    if (s.modelDir.empty()) r.fail("model.dir", "is empty");
    s.device = r.string(m, "device", "model.device", s.device);
    s.dtype = r.string(m, "dtype", "model.dtype", s.dtype);
    if (j.contains("data")) {
        const auto& d = r.object(j["data"], "data");
        s.calibrationFile = r.path(d, "calibration", "data.calibration", baseDir);
        if (d.contains("tasks"))
            for (size_t i = 0; i < r.array(d["tasks"], "data.tasks", kMaxEntries).size(); ++i) {
                const auto& t = d["tasks"][i];
                if (!t.is_string()) r.fail("data.tasks", "holds something that is not a path");
                const std::filesystem::path p(t.get<std::string>());
                s.taskFiles.push_back(p.is_absolute() ? p : baseDir / p);
            }
        s.seqLen = r.integer(d, "seq_len", "data.seq_len", 2, 1 << 20, s.seqLen);
        s.importanceWindows =
            r.integer(d, "importance_windows", "data.importance_windows", 1, 1 << 20, s.importanceWindows);
        s.evaluationWindows =
            r.integer(d, "evaluation_windows", "data.evaluation_windows", 1, 1 << 20, s.evaluationWindows);
        s.evaluationItems =
            r.integer(d, "evaluation_items", "data.evaluation_items", 1, 1 << 24, s.evaluationItems);
    }
    s.removed = r.string(j, "removed", "removed");
    s.adapters = r.path(j, "adapters", "adapters", baseDir);
    if (j.contains("scores")) s.scores = r.scores(j["scores"], "scores");
    if (j.contains("score_stderr")) s.scoreStdErr = r.scores(j["score_stderr"], "score_stderr");
    s.angularN = r.integer(j, "angular_n", "angular_n", 0, static_cast<int64_t>(kMaxLayers), 0);
    if (j.contains("evaluations")) {
        const auto& evals = r.array(j["evaluations"], "evaluations", kMaxEntries);
        for (size_t i = 0; i < evals.size(); ++i) {
            const std::string f = "evaluations[" + std::to_string(i) + "]";
            const auto& e = r.object(evals[i], f);
            SessionEvaluation x;
            x.role = r.string(e, "role", f + ".role");
            if (x.role != "baseline" && x.role != "latest")
                r.fail(f + ".role", "is neither \"baseline\" nor \"latest\"");
            x.level = static_cast<int>(r.integer(e, "level", f + ".level", 0, 1, 0));
            x.removed = r.string(e, "removed", f + ".removed");
            x.hasLoss = r.boolean(e, "has_loss", f + ".has_loss");
            x.loss = r.number(e, "loss", f + ".loss");
            x.perplexity = r.number(e, "perplexity", f + ".perplexity");
            x.tokens = r.integer(e, "tokens", f + ".tokens", 0, INT64_MAX, 0);
            x.windows = r.integer(e, "windows", f + ".windows", 0, INT64_MAX, 0);
            if (e.contains("tasks")) {
                const auto& tasks = r.array(e["tasks"], f + ".tasks", kMaxEntries);
                for (size_t k = 0; k < tasks.size(); ++k) {
                    const std::string g = f + ".tasks[" + std::to_string(k) + "]";
                    const auto& t = r.object(tasks[k], g);
                    x.tasks.push_back({r.string(t, "task", g + ".task"), r.number(t, "acc", g + ".acc"),
                                       r.number(t, "acc_norm", g + ".acc_norm"),
                                       r.number(t, "acc_stderr", g + ".acc_stderr"),
                                       r.number(t, "acc_norm_stderr", g + ".acc_norm_stderr"),
                                       r.integer(t, "items", g + ".items", 0, INT64_MAX, 0)});
                }
            }
            s.evaluations.push_back(std::move(x));
        }
    }
    if (j.contains("recovery")) s.recovery = j["recovery"];
    if (j.contains("pruning_curve")) {
        if (!j["pruning_curve"].is_array()) throw Error(source, "pruning_curve is not a list");
        s.pruningCurve = j["pruning_curve"];
    }
    if (j.contains("cost")) s.cost = r.object(j["cost"], "cost");
    if (j.contains("generations")) {
        const auto& list = r.array(j["generations"], "generations", kMaxEntries);
        for (size_t i = 0; i < list.size(); ++i)
            r.object(list[i], "generations[" + std::to_string(i) + "]");
        s.generations = list;
    }
    return s;
}

Session readSessionFile(const std::filesystem::path& path) {
    return sessionFromJson(readJsonFile(path, kMaxSessionBytes), path, path.parent_path());
}

void writeSessionFile(const std::filesystem::path& path, const Session& session) {
    writeFileAtomically(path, sessionToJson(session).dump(2) + "\n");
}

} // namespace layerlab
