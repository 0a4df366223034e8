// Soak: 200 random removal sets, each evaluated (loss on a small sample; every tenth also a
// multiple-choice task), must not grow the process's resident memory once the first cycles have warmed the
// allocators up. Prints resident memory at the start and the end.
#include "data/multiple_choice_task.h"
#include "eval/evaluation.h"
#include "eval/multiple_choice_eval.h"
#include "test_helpers.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <unistd.h>

using namespace layerlab;
using test::demoDir;

namespace {

double residentMiB() {
    std::ifstream statm("/proc/self/statm");
    long pages = 0, resident = 0;
    statm >> pages >> resident;
    return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1 << 20);
}

} // namespace

TEST(EvaluationSoak, TwoHundredToggleAndEvaluateCyclesDoNotGrowMemory) {
    auto model = Model::load(demoDir(), {test::testDevice(), torch::kFloat32});
    const auto tokenizer = Tokenizer::load(demoDir());
    TokenDataOptions d;
    d.windows.seqLen = 32;
    d.maxSequences = 2;
    const auto windows = loadTokenData(demoDir() / "heldout.txt", tokenizer, d).windows;
    MultipleChoiceOptions mo;
    mo.maxItems = 2;
    const auto task = loadMultipleChoiceTask(demoDir() / "next_verse.jsonl", mo);
    std::mt19937 rng(7);
    const int64_t L = model->numLayers();
    LayerMask mask(L);
    double warm = 0;
    const double start = residentMiB();
    for (int cycle = 0; cycle < 200; ++cycle) {
        const auto unit = static_cast<Unit>(rng() % 3);
        const int64_t layer = static_cast<int64_t>(rng() % static_cast<unsigned>(L));
        mask.set(unit, layer, !mask.isRemoved(unit, layer));
        const auto loss = evaluateLoss(*model, windows, mask, {4, {}});
        ASSERT_TRUE(std::isfinite(loss.loss));
        if (cycle % 10 == 0) { // the task path too, less often (it dominates the time)
            const auto mc = evaluateMultipleChoice(*model, tokenizer, task, mask, {4});
            ASSERT_EQ(mc.items, 2);
        }
        if (cycle == 19) warm = residentMiB();
    }
    const double end = residentMiB();
    std::cout << "resident memory: start " << start << " MiB, after 20 cycles " << warm << " MiB, after 200 "
              << end << " MiB\n";
    // Anything that kept a batch's activations per cycle would add megabytes every cycle.
    EXPECT_LT(end - warm, 16.0);
}
