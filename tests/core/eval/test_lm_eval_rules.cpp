// Multiple choice by lm-evaluation-harness' rules: scores, continuation tokens and the choices acc
// and acc_norm pick, against tools/make_lm_eval_reference.py (transformers on the demo model, the
// harness' v0.4.12 rules). The items hit each rule: trailing whitespace of the context, an empty
// context, a context that starts with BOS's text, accented and CJK choices of unequal length
// (acc_norm per character, not per byte), and an item longer than the model's 1024 positions.
#include "eval/multiple_choice_eval.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

#include <fstream>

using namespace layerlab;
using test::demoDir;

TEST(LmEvalRules, ScoresAndPicksMatchTheHarness) {
    auto model = Model::load(demoDir(), {test::testDevice(), torch::kFloat32});
    const auto tokenizer = Tokenizer::load(demoDir());
    const auto task = loadMultipleChoiceTask(test::dataDir() / "lm_eval" / "rules.jsonl");
    const auto result = evaluateMultipleChoice(*model, tokenizer, task, LayerMask(model->numLayers()), {4});

    std::ifstream in(test::dataDir() / "lm_eval" / "rules_reference.jsonl");
    std::string line;
    size_t items = 0;
    int64_t right = 0, rightNorm = 0, rightBytes = 0, exact = 0, greedyChoices = 0;
    for (; std::getline(in, line); ++items) {
        ASSERT_LT(items, task.items.size());
        const auto ref = nlohmann::json::parse(line);
        const auto& item = task.items[items];
        ASSERT_EQ(ref["id"].get<std::string>(), item.id);
        for (size_t c = 0; c < item.choices.size(); ++c) {
            EXPECT_EQ(result.scores[items][c].tokens, ref["cont_tokens"][c].get<int64_t>())
                << item.id << " " << c;
            EXPECT_NEAR(result.scores[items][c].logLikelihood, ref["loglik"][c].get<double>(), 2e-3)
                << item.id << " choice " << c;
            EXPECT_EQ(result.scores[items][c].greedy, ref["is_greedy"][c].get<bool>()) << item.id << " " << c;
            greedyChoices += ref["is_greedy"][c].get<bool>();
        }
        EXPECT_EQ(result.predicted[items], ref["pred"].get<int64_t>()) << item.id;
        EXPECT_EQ(result.predictedNorm[items], ref["pred_norm"].get<int64_t>()) << item.id;
        EXPECT_EQ(result.predictedBytes[items], ref["pred_bytes"].get<int64_t>()) << item.id;
        right += ref["pred"].get<int64_t>() == item.label;
        rightNorm += ref["pred_norm"].get<int64_t>() == item.label;
        rightBytes += ref["pred_bytes"].get<int64_t>() == item.label;
        exact += ref["is_greedy"][static_cast<size_t>(item.label)].get<bool>();
    }
    ASSERT_EQ(items, task.items.size());
    EXPECT_DOUBLE_EQ(result.acc, static_cast<double>(right) / static_cast<double>(items));
    EXPECT_DOUBLE_EQ(result.accNorm, static_cast<double>(rightNorm) / static_cast<double>(items));
    EXPECT_DOUBLE_EQ(result.accBytes, static_cast<double>(rightBytes) / static_cast<double>(items));
    EXPECT_DOUBLE_EQ(result.exactMatch, static_cast<double>(exact) / static_cast<double>(items));
    EXPECT_GT(greedyChoices, 0); // the reference has greedy continuations: is_greedy is tested both ways
}

TEST(LmEvalRules, AnswerWindowsFitTheModel) {
    const auto tokenizer = Tokenizer::load(demoDir());
    const auto task = loadMultipleChoiceTask(test::dataDir() / "lm_eval" / "rules.jsonl");
    const auto windows = answerWindows(tokenizer, task, 1024);
    ASSERT_EQ(windows.size(), task.items.size());
    std::ifstream in(test::dataDir() / "lm_eval" / "rules_reference.jsonl");
    std::string line;
    for (size_t i = 0; i < windows.size() && std::getline(in, line); ++i) {
        const auto ref = nlohmann::json::parse(line);
        EXPECT_LE(windows[i].size(), 1024) << task.items[i].id;
        EXPECT_EQ(windows[i].scoredTargets(), ref["cont_tokens"][task.items[i].label].get<int64_t>())
            << task.items[i].id;
    }
}
