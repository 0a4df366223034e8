// Shapley values: the axioms (efficiency, dummy player), exact vs Monte Carlo, the savings of
// incremental evaluation.

#include "importance/shapley.h"
#include "io/safetensors.h"
#include "test_helpers.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <numeric>
#include <sstream>

using namespace layerlab;

namespace {

double sum(const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0);
}

// v(S) = 1 s0 + 2 s1 + 3 s2 + 4 s0 s1; player 3 changes nothing.
class ToyGame : public CoalitionGame {
public:
    int64_t players() const override { return 4; }
    std::vector<double> values(const std::vector<std::vector<bool>>& sets, const Progress&) override {
        std::vector<double> out;
        for (const auto& s : sets)
            out.push_back(1.0 * s[0] + 2.0 * s[1] + 3.0 * s[2] + 4.0 * (s[0] && s[1]));
        evaluated += static_cast<double>(sets.size());
        return out;
    }
    double forwardPasses() const override { return evaluated; }
    double evaluated = 0;
};

} // namespace

TEST(Shapley, ToyGameExactAndMonteCarlo) {
    const std::vector<double> want = {3, 4, 3, 0};
    ToyGame game;
    auto r = shapleyValues(game, {});
    EXPECT_TRUE(r.exact);
    EXPECT_EQ(r.coalitions, 16);
    for (size_t i = 0; i < 4; ++i)
        EXPECT_NEAR(r.scores.scores.at("shapley")[Unit::Block][i], want[i], 1e-12);
    ShapleyOptions mc;
    mc.forceMonteCarlo = true;
    mc.maxPairs = 50;
    ToyGame game2;
    r = shapleyValues(game2, mc);
    EXPECT_FALSE(r.exact);
    EXPECT_EQ(r.permutations, 100);
    const auto& phi = r.scores.scores.at("shapley")[Unit::Block];
    const auto& se = r.scores.stdErr.at("shapley")[Unit::Block];
    EXPECT_EQ(phi[3], 0.0); // the dummy player: every marginal contribution is 0
    EXPECT_EQ(se[3], 0.0);
    EXPECT_EQ(phi[2], 3.0); // additive player: exact in every permutation
    for (size_t i = 0; i < 4; ++i)
        EXPECT_NEAR(phi[i], want[i], 3 * se[i] + 1e-12);
    EXPECT_NEAR(sum(phi), 10.0, 1e-12);
}

TEST(Shapley, StoppingRules) {
    ShapleyOptions mc;
    mc.forceMonteCarlo = true;
    mc.maxPairs = 1000;
    mc.targetStdErr = 0.3;
    ToyGame game;
    auto r = shapleyValues(game, mc);
    EXPECT_LT(r.permutations, 2000);
    EXPECT_LE(r.scores.stdErr.at("shapley")[Unit::Block][0], 0.3);
    mc.targetStdErr = 0;
    mc.maxForwardPasses = 40; // 2 + 6 per pair
    ToyGame game2;
    r = shapleyValues(game2, mc);
    EXPECT_EQ(r.permutations, 2 * 7);
}

TEST(Shapley, ExactOnModelIsEfficientAndIncremental) {
    const auto ref = test::readJson(test::referenceDir("llama_gqa") / "reference.json");
    auto model = Model::load(test::referenceDir("llama_gqa"), {test::testDevice(), torch::kFloat32});
    ShapleyOptions options;
    options.batchSize = 1;
    const auto r = shapley(*model, test::referenceWindows("llama_gqa"), options);
    EXPECT_TRUE(r.exact);
    EXPECT_NEAR(r.valueAll, -ref["losses"]["none"].get<double>(), 1e-5);
    const auto& phi = r.scores.scores.at("shapley")[Unit::Block];
    ASSERT_EQ(phi.size(), 4u);
    EXPECT_NEAR(sum(phi), r.valueAll - r.valueNone, 1e-5);
    // 16 coalitions x 2 batches naive; restarts share prefixes.
    EXPECT_EQ(r.scores.naiveForwardPasses, 32);
    EXPECT_LT(r.scores.forwardPasses, 0.6 * r.scores.naiveForwardPasses);
    std::cout << "exact block Shapley:";
    for (double p : phi)
        std::cout << " " << p;
    std::cout << " (sum " << sum(phi) << ", v(all) - v(none) " << r.valueAll - r.valueNone << "), passes "
              << r.scores.forwardPasses << " vs naive " << r.scores.naiveForwardPasses << "\n";

    // Monte Carlo on the same game: within 3 standard errors of the exact values.
    for (Unit u : {Unit::Block, Unit::Ffn}) {
        options.unit = u;
        options.forceMonteCarlo = false;
        const auto ex = shapley(*model, test::referenceWindows("llama_gqa"), options);
        options.forceMonteCarlo = true;
        options.maxPairs = 40;
        options.seed = 7;
        const auto mc = shapley(*model, test::referenceWindows("llama_gqa"), options);
        EXPECT_EQ(mc.permutations, 80);
        const auto& e = ex.scores.scores.at("shapley")[u];
        const auto& m = mc.scores.scores.at("shapley")[u];
        const auto& se = mc.scores.stdErr.at("shapley")[u];
        EXPECT_NEAR(sum(m), mc.valueAll - mc.valueNone, 1e-5);
        for (size_t i = 0; i < 4; ++i) {
            std::cout << unitName(u) << ":" << i << " exact " << e[i] << " MC " << m[i] << " +- " << se[i]
                      << "\n";
            EXPECT_NEAR(m[i], e[i], 3 * se[i] + 1e-6) << unitName(u) << ":" << i;
        }
        EXPECT_LT(mc.scores.forwardPasses, mc.scores.naiveForwardPasses);
    }
}

TEST(Shapley, DemoModelMonteCarloAgreesWithExact) {
    // 10 blocks: exact enumeration is 1024 coalitions; Monte Carlo with a forward-pass budget.
    const auto dir = std::filesystem::path(LAYERLAB_SOURCE_DIR) / "resources" / "demo";
    auto model = Model::load(dir, {test::testDevice(), torch::kFloat32});
    std::ifstream in(dir / "heldout.txt", std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    const auto ids = Tokenizer::load(dir).encode(text.str().substr(0, 2000), false);
    auto windows = cutWindows(ids, {16, 0, false});
    windows.resize(2);
    ShapleyOptions options;
    const auto ex = shapley(*model, windows, options);
    ASSERT_TRUE(ex.exact);
    EXPECT_EQ(ex.coalitions, 1024);
    options.forceMonteCarlo = true;
    options.maxForwardPasses = 100; // batch passes; each pair costs at most 18
    options.maxPairs = 1000;
    options.seed = 3;
    const auto mc = shapley(*model, windows, options);
    EXPECT_GE(mc.scores.forwardPasses, 100);
    EXPECT_LT(mc.scores.forwardPasses, 120);
    const auto& e = ex.scores.scores.at("shapley")[Unit::Block];
    const auto& m = mc.scores.scores.at("shapley")[Unit::Block];
    const auto& se = mc.scores.stdErr.at("shapley")[Unit::Block];
    EXPECT_NEAR(sum(e), ex.valueAll - ex.valueNone, 1e-5);
    EXPECT_NEAR(sum(m), mc.valueAll - mc.valueNone, 1e-5);
    for (size_t i = 0; i < e.size(); ++i)
        EXPECT_NEAR(m[i], e[i], 3 * se[i]) << "block " << i;
    std::cout << "demo: exact passes " << ex.scores.forwardPasses << " vs naive "
              << ex.scores.naiveForwardPasses << "; MC " << mc.permutations << " permutations, passes "
              << mc.scores.forwardPasses << " vs naive " << mc.scores.naiveForwardPasses << ", max stderr "
              << *std::max_element(se.begin(), se.end()) << "\n";
}

TEST(Shapley, ModelDummyPlayerGetsZero) {
    // Zeroing attention 2's output projection makes its update exactly 0: h + 0 == h.
    auto model = Model::load(test::referenceDir("llama_gqa"), {test::testDevice(), torch::kFloat32});
    {
        torch::NoGradGuard noGrad; // the mapping is private: the file is not written
        model->layer(2).o.zero_();
        if (model->layer(2).oBias.defined()) model->layer(2).oBias.zero_();
    }
    ShapleyOptions options;
    options.unit = Unit::Attention;
    auto r = shapley(*model, test::referenceWindows("llama_gqa"), options);
    EXPECT_EQ(r.scores.scores.at("shapley")[Unit::Attention][2], 0.0);
    options.forceMonteCarlo = true;
    options.maxPairs = 5;
    r = shapley(*model, test::referenceWindows("llama_gqa"), options);
    EXPECT_EQ(r.scores.scores.at("shapley")[Unit::Attention][2], 0.0);
    EXPECT_EQ(r.scores.stdErr.at("shapley")[Unit::Attention][2], 0.0);
}

TEST(Shapley, Cancels) {
    auto model = Model::load(test::referenceDir("llama_gqa"), {torch::kCPU, torch::kFloat32});
    CancelToken token;
    token.cancel();
    EXPECT_THROW(shapley(*model, test::referenceWindows("llama_gqa"), {}, Progress({}, token)), Cancelled);
}
