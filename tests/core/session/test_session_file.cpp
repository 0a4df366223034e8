// Session files: a hand-written file read field by field, the written form read back, malformed
// input rejected with the file's name, and a save killed halfway leaving the previous file.
#include "common/error.h"
#include "session/session_file.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <csignal>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

using namespace layerlab;

namespace {

const char* kHandWritten = R"({
  "format": "layerlab-session", "version": 1,
  "model": {"dir": "/models/demo", "device": "cuda:1", "dtype": "bf16"},
  "data": {"calibration": "heldout.txt", "tasks": ["/t/a.jsonl", "b.jsonl"], "seq_len": 128,
           "importance_windows": 8, "evaluation_windows": 4, "evaluation_items": 30},
  "removed": "attn:1-2,block:5",
  "adapters": "s.adapters.safetensors",
  "scores": {"cosine": {"block": [0.5, 0.25], "attn": [0.125, null]}},
  "score_stderr": {"shapley": {"ffn": [0.01, 0.02]}},
  "angular_n": 2,
  "evaluations": [{"role": "baseline", "level": 1, "removed": "", "has_loss": true, "loss": 2.5,
                   "perplexity": 12.1825, "tokens": 1000, "windows": 4,
                   "tasks": [{"task": "verse", "acc": 0.5, "acc_norm": 0.75, "acc_stderr": 0.1,
                              "acc_norm_stderr": 0.09, "items": 30}]}],
  "recovery": {"method": "bias"}
})";

void expectError(const std::string& text, const std::string& mentions) {
    test::TempDir dir;
    test::writeText(dir / "bad.layerlab", text);
    try {
        readSessionFile(dir / "bad.layerlab");
        ADD_FAILURE() << "no error for: " << text;
    } catch (const Error& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find("bad.layerlab"), std::string::npos) << what;
        EXPECT_NE(what.find(mentions), std::string::npos) << what;
    }
}

} // namespace

TEST(SessionFile, ReadsAHandWrittenSession) {
    test::TempDir dir;
    test::writeText(dir / "s.layerlab", kHandWritten);
    const auto s = readSessionFile(dir / "s.layerlab");
    EXPECT_EQ(s.modelDir, "/models/demo");
    EXPECT_EQ(s.device, "cuda:1");
    EXPECT_EQ(s.dtype, "bf16");
    EXPECT_EQ(s.calibrationFile, dir / "heldout.txt"); // relative to the session's folder
    ASSERT_EQ(s.taskFiles.size(), 2u);
    EXPECT_EQ(s.taskFiles[0], "/t/a.jsonl");
    EXPECT_EQ(s.taskFiles[1], dir / "b.jsonl");
    EXPECT_EQ(s.seqLen, 128);
    EXPECT_EQ(s.importanceWindows, 8);
    EXPECT_EQ(s.evaluationWindows, 4);
    EXPECT_EQ(s.evaluationItems, 30);
    EXPECT_EQ(s.removed, "attn:1-2,block:5");
    EXPECT_EQ(s.adapters, dir / "s.adapters.safetensors");
    ASSERT_EQ(s.scores.count("cosine"), 1u);
    EXPECT_EQ(s.scores.at("cosine")[0], (std::vector<double>{0.5, 0.25}));
    ASSERT_EQ(s.scores.at("cosine")[1].size(), 2u);
    EXPECT_TRUE(std::isnan(s.scores.at("cosine")[1][1]));
    EXPECT_TRUE(s.scores.at("cosine")[2].empty());
    EXPECT_EQ(s.scoreStdErr.at("shapley")[2], (std::vector<double>{0.01, 0.02}));
    EXPECT_EQ(s.angularN, 2);
    ASSERT_EQ(s.evaluations.size(), 1u);
    const auto& e = s.evaluations[0];
    EXPECT_EQ(e.role, "baseline");
    EXPECT_EQ(e.level, 1);
    EXPECT_TRUE(e.hasLoss);
    EXPECT_DOUBLE_EQ(e.loss, 2.5);
    EXPECT_EQ(e.tokens, 1000);
    ASSERT_EQ(e.tasks.size(), 1u);
    EXPECT_EQ(e.tasks[0].task, "verse");
    EXPECT_DOUBLE_EQ(e.tasks[0].accNorm, 0.75);
    EXPECT_EQ(e.tasks[0].items, 30);
    EXPECT_EQ(s.recovery["method"], "bias");
}

TEST(SessionFile, WrittenSessionsReadBack) {
    test::TempDir dir;
    test::writeText(dir / "s.layerlab", kHandWritten);
    const auto s = readSessionFile(dir / "s.layerlab");
    writeSessionFile(dir / "copy.layerlab", s);
    const auto back = readSessionFile(dir / "copy.layerlab");
    EXPECT_EQ(back.modelDir, s.modelDir);
    EXPECT_EQ(back.calibrationFile, s.calibrationFile);
    EXPECT_EQ(back.taskFiles, s.taskFiles);
    EXPECT_EQ(back.removed, s.removed);
    EXPECT_EQ(back.adapters, s.adapters);
    EXPECT_EQ(back.scores.at("cosine")[0], s.scores.at("cosine")[0]);
    EXPECT_TRUE(std::isnan(back.scores.at("cosine")[1][1])); // NaN survives as null
    EXPECT_EQ(back.evaluations.size(), 1u);
    EXPECT_EQ(back.evaluations[0].tasks[0].task, "verse");
    EXPECT_EQ(back.recovery, s.recovery);
    EXPECT_TRUE(back.pruningCurve.is_null()); // none in the hand-written session, none written
    auto withCurve = s;
    withCurve.pruningCurve = nlohmann::json::array({{{"metric", "cosine"}, {"units_removed", 1}}});
    writeSessionFile(dir / "curve.layerlab", withCurve);
    EXPECT_EQ(readSessionFile(dir / "curve.layerlab").pruningCurve, withCurve.pruningCurve);
    // The removal set's cost and the generated samples travel as written.
    withCurve.cost = {{"parameters_total", 1000}, {"parameters_removed", 250}};
    withCurve.generations = nlohmann::json::array({{{"prompt", "In the beginning"}, {"text", " God"}}});
    writeSessionFile(dir / "curve.layerlab", withCurve);
    const auto again = readSessionFile(dir / "curve.layerlab");
    EXPECT_EQ(again.cost, withCurve.cost);
    EXPECT_EQ(again.generations, withCurve.generations);
}

TEST(SessionFile, MalformedSessionsAreErrorsNamingTheFile) {
    expectError("", "");
    expectError("{\"format\": \"layerlab-session\", \"version\": 1, \"model\": {\"dir\": \"/m\"}", "");
    expectError("[1, 2]", "");
    expectError(R"({"format": "something-else", "version": 1, "model": {"dir": "/m"}})",
                "not a LayerLab session");
    expectError(R"({"format": "layerlab-session", "version": 7, "model": {"dir": "/m"}})", "version 7");
    expectError(R"({"format": "layerlab-session", "version": 1})", "model");
    expectError(R"({"format": "layerlab-session", "version": 1, "model": {"dir": 5}})", "model.dir");
    expectError(R"({"format": "layerlab-session", "version": 1, "model": {"dir": "/m"},
                   "data": {"seq_len": -3}})",
                "data.seq_len");
    expectError(R"({"format": "layerlab-session", "version": 1, "model": {"dir": "/m"},
                   "scores": {"cosine": {"heads": [1]}}})",
                "scores.cosine.heads");
    expectError(R"({"format": "layerlab-session", "version": 1, "model": {"dir": "/m"},
                   "scores": {"cosine": {"block": [1, "x"]}}})",
                "scores.cosine.block");
    expectError(R"({"format": "layerlab-session", "version": 1, "model": {"dir": "/m"},
                   "evaluations": [{"role": "other"}]})",
                "evaluations[0].role");
    expectError(R"({"format": "layerlab-session", "version": 1, "model": {"dir": "/m"},
                   "pruning_curve": {"metric": "cosine"}})",
                "pruning_curve is not a list");
    expectError(R"({"format": "layerlab-session", "version": 1, "model": {"dir": "/m"}, "cost": [1]})",
                "cost");
    expectError(R"({"format": "layerlab-session", "version": 1, "model": {"dir": "/m"},
                   "generations": [{"prompt": "x"}, 3]})",
                "generations[1]");
    EXPECT_THROW(readSessionFile("/nonexistent/session.layerlab"), Error);
}

TEST(SessionFile, AKilledSaveLeavesThePreviousSessionReadable) {
    test::TempDir dir;
    const auto path = dir / "s.layerlab";
    Session old;
    old.modelDir = "/models/old";
    writeSessionFile(path, old);
    // A large session written by a child process that is killed at once, many times: the file
    // must always read as either the old or the new session, never as a torn one.
    Session big;
    big.modelDir = "/models/new";
    big.scores["cosine"][0] = std::vector<double>(200000 / 2, 0.5);
    for (int attempt = 0; attempt < 5; ++attempt) {
        const pid_t child = fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            writeSessionFile(path, big);
            _exit(0);
        }
        usleep(static_cast<useconds_t>(attempt * 2000));
        kill(child, SIGKILL);
        int status = 0;
        waitpid(child, &status, 0);
        const auto s = readSessionFile(path);
        EXPECT_TRUE(s.modelDir == "/models/old" || s.modelDir == "/models/new") << s.modelDir;
    }
}
