#pragma once
// A workbench session as a `.layerlab` JSON file: which model and data, the removal set, computed
// scores, evaluation results and where the installed adapters were saved. Plain data, no Qt: the
// GUI fills and applies it; the reader checks everything, since session files come from anywhere.

#include <array>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace layerlab {

struct SessionTaskScore {
    std::string task;
    double acc = 0, accNorm = 0, accStderr = 0, accNormStderr = 0;
    int64_t items = 0;
};

struct SessionEvaluation {
    std::string role; // "baseline" (the full model) or "latest" (the removal set then)
    int level = 0;    // 0: quick sample, 1: refined
    std::string removed;
    bool hasLoss = false;
    double loss = 0, perplexity = 0;
    int64_t tokens = 0, windows = 0;
    std::vector<SessionTaskScore> tasks;
};

using SessionPerUnit = std::array<std::vector<double>, 3>; // block, attn, ffn

struct Session {
    static constexpr int kVersion = 1;
    std::filesystem::path modelDir;
    std::string device = "cpu", dtype = "f32";
    // Data choices.
    std::filesystem::path calibrationFile;
    std::vector<std::filesystem::path> taskFiles;
    int64_t seqLen = 256, importanceWindows = 16, evaluationWindows = 16, evaluationItems = 60;
    std::string removed;            // removal spec ("" = nothing removed)
    std::filesystem::path adapters; // safetensors of the installed adapters; empty when none
    std::map<std::string, SessionPerUnit> scores, scoreStdErr;
    int64_t angularN = 0;
    std::vector<SessionEvaluation> evaluations;
    nlohmann::json recovery;     // the recovery results as shown (free-form, may be null)
    nlohmann::json pruningCurve; // the pruning curve's points (a list, may be null)
    nlohmann::json cost;         // what the removal set saves (pruningCostJson; an object, may be null)
    nlohmann::json generations;  // the Generate tab's results (a list of objects, may be null)
};

nlohmann::json sessionToJson(const Session& session);
// Checks types, sizes and values: anything malformed is an Error naming `source`. Relative paths
// are resolved against `baseDir` (the session file's folder).
Session sessionFromJson(const nlohmann::json& json, const std::filesystem::path& source,
                        const std::filesystem::path& baseDir);
Session readSessionFile(const std::filesystem::path& path);
// Atomic (temporary file, fsync, rename): a crash mid-save leaves the previous file readable.
void writeSessionFile(const std::filesystem::path& path, const Session& session);

} // namespace layerlab
