// Multiple-choice scoring does not depend on batching (padding), and the task answer windows
// score exactly the right answers' tokens.

#include "eval/multiple_choice_eval.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

using namespace layerlab;
using test::demoDir;

namespace {

// The first `items` items of the demo's task.
MultipleChoiceTask demoTask(int64_t items) {
    MultipleChoiceOptions o;
    o.maxItems = items;
    return loadMultipleChoiceTask(demoDir() / "next_verse.jsonl", o);
}

} // namespace

TEST(MultipleChoiceEval, PaddingDoesNotChangeScores) {
    auto model = Model::load(demoDir(), {test::testDevice(), torch::kFloat32});
    const auto tokenizer = Tokenizer::load(demoDir());
    const auto task = demoTask(6);
    const LayerMask mask = LayerMask::parse("ffn:4", model->numLayers());
    const auto batched = evaluateMultipleChoice(*model, tokenizer, task, mask, {16});
    const auto single = evaluateMultipleChoice(*model, tokenizer, task, mask, {1, 1});
    // Rounded up to 64 tokens, as a GPU pads to fewer shapes: more padding, the same scores.
    const auto rounded = evaluateMultipleChoice(*model, tokenizer, task, mask, {16, 64});
    for (const auto* other : {&single, &rounded}) {
        ASSERT_EQ(batched.scores.size(), other->scores.size());
        for (size_t i = 0; i < batched.scores.size(); ++i)
            for (size_t c = 0; c < batched.scores[i].size(); ++c) {
                EXPECT_NEAR(batched.scores[i][c].logLikelihood, other->scores[i][c].logLikelihood, 1e-4)
                    << i << "," << c;
                EXPECT_EQ(batched.scores[i][c].tokens, other->scores[i][c].tokens);
            }
        EXPECT_DOUBLE_EQ(batched.acc, other->acc);
        EXPECT_DOUBLE_EQ(batched.accNorm, other->accNorm);
        EXPECT_EQ(batched.tokens, other->tokens); // real tokens only
    }
}

TEST(MultipleChoiceEval, ABatchSizeBelowOneIsRefused) {
    auto model = Model::load(demoDir(), {torch::kCPU, torch::kFloat32});
    const auto tokenizer = Tokenizer::load(demoDir());
    const auto task = demoTask(2);
    for (int64_t batch : {0, -3})
        EXPECT_THROW(evaluateMultipleChoice(*model, tokenizer, task, LayerMask(model->numLayers()), {batch}),
                     Error);
}

TEST(MultipleChoiceEval, AnswerWindowsScoreTheRightAnswers) {
    auto model = Model::load(demoDir(), {torch::kCPU, torch::kFloat32});
    const auto tokenizer = Tokenizer::load(demoDir());
    const auto task = demoTask(5);
    const auto windows = answerWindows(tokenizer, task, model->config().maxPositionEmbeddings);
    ASSERT_EQ(windows.size(), task.items.size());
    const auto scores = evaluateMultipleChoice(*model, tokenizer, task, LayerMask(model->numLayers()), {4});
    for (size_t i = 0; i < windows.size(); ++i) {
        const auto& right = scores.scores[i][static_cast<size_t>(task.items[i].label)];
        EXPECT_EQ(windows[i].scoredTargets(), right.tokens);
        torch::InferenceMode inference;
        auto ids = torch::tensor(windows[i].ids).view({1, -1});
        auto keep = torch::zeros({1, windows[i].size()}, torch::kBool);
        keep.narrow(1, windows[i].firstTarget(), windows[i].scoredTargets()).fill_(true);
        const auto loss = nextTokenLoss(model->forward(ids, LayerMask(model->numLayers())), ids, keep);
        EXPECT_NEAR(-loss.sum, right.logLikelihood, 1e-3);
    }
}
