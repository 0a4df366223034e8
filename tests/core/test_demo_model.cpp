// The bundled demo model (resources/demo) against what transformers measured when it was trained
// (resources/demo/manifest.json, written by tools/train_demo_model.py on the device machine).

#include "data/dataset.h"
#include "data/multiple_choice_task.h"
#include "eval/evaluation.h"
#include "eval/multiple_choice_eval.h"
#include "model/model.h"
#include "test_helpers.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

using namespace layerlab;
using test::demoDir;
namespace fs = std::filesystem;

namespace {
std::string readAll(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}
} // namespace

TEST(DemoModel, PerplexityMatchesTransformers) {
    const auto manifest = test::readJson(demoDir() / "manifest.json");
    const auto& ref = manifest["reference"];
    auto model = Model::load(demoDir(), {test::testDevice(), torch::kFloat32});
    EXPECT_TRUE(model->unusedTensors().empty());
    const auto tokenizer = Tokenizer::load(demoDir());

    // The manifest's recipe: whole file, no BOS, first 32 disjoint windows of 256 tokens.
    const auto ids = tokenizer.encode(readAll(demoDir() / "heldout.txt"), false);
    for (size_t i = 0; i < ref["first_window_first16_ids"].size(); ++i)
        ASSERT_EQ(ids.at(i), ref["first_window_first16_ids"][i].get<int64_t>()) << "token " << i;
    auto windows = cutWindows(ids, {256, 0, false});
    windows.resize(ref["windows"].get<size_t>());
    LossOptions options;
    options.batchSize = test::testDevice().is_cpu() ? 1 : 32;
    const auto r = evaluateLoss(*model, windows, LayerMask(model->numLayers()), options);
    EXPECT_EQ(r.tokens, ref["predictions"].get<int64_t>());
    const double want = ref["ppl"].get<double>();
    std::cout << "demo perplexity " << r.perplexity << ", transformers " << want << "\n";
    EXPECT_NEAR(r.perplexity, want, 1e-3 * want);
    // Far below the unigram baseline on the same windows.
    EXPECT_LT(r.perplexity, 0.2 * manifest["unigram_baseline"]["ppl_reference_windows"].get<double>());
}

TEST(DemoModel, MultipleChoiceMatchesTransformersAndBeatsChance) {
    auto model = Model::load(demoDir(), {test::testDevice(), torch::kFloat32});
    const auto tokenizer = Tokenizer::load(demoDir());
    auto task = loadMultipleChoiceTask(demoDir() / "next_verse.jsonl");
    ASSERT_GE(task.items.size(), 300u);
    // The first 120 items keep the test quick on two CPU cores.
    task.items.resize(120);
    const auto result = evaluateMultipleChoice(*model, tokenizer, task, LayerMask(model->numLayers()), {8});

    std::ifstream in(demoDir() / "next_verse_reference.jsonl");
    std::string line;
    int64_t refRight = 0;
    for (size_t i = 0; i < task.items.size() && std::getline(in, line); ++i) {
        const auto ref = nlohmann::json::parse(line);
        ASSERT_EQ(ref["id"].get<std::string>(), task.items[i].id);
        size_t best = 0;
        for (size_t c = 0; c < task.items[i].choices.size(); ++c) {
            EXPECT_NEAR(result.scores[i][c].logLikelihood, ref["loglik"][c].get<double>(), 2e-3)
                << task.items[i].id << " choice " << c;
            EXPECT_EQ(result.scores[i][c].tokens, ref["cont_tokens"][c].get<int64_t>());
            if (ref["loglik"][c].get<double>() > ref["loglik"][best].get<double>()) best = c;
        }
        refRight += static_cast<int64_t>(best) == task.items[i].label;
    }
    EXPECT_DOUBLE_EQ(result.acc, static_cast<double>(refRight) / 120.0);
    std::cout << "next_verse acc " << result.acc << " +- " << result.accStderr << ", acc_norm "
              << result.accNorm << "\n";
    // Chance is 1/4; "well above" = more than two standard errors above it.
    EXPECT_GT(result.acc, 0.25 + 2 * result.accStderr);
}
