// The present/absent estimate against a brute-force computation: every sub-network's value from
// its own full forward pass, then the means by hand.

#include "importance/present_absent.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace layerlab;
using test::demoDir;

namespace {

// A game that records which coalitions it was asked for.
class RecordingGame : public CoalitionGame {
public:
    explicit RecordingGame(int64_t n) : n_(n) {}
    int64_t players() const override { return n_; }
    std::vector<double> values(const std::vector<std::vector<bool>>& sets, const Progress&) override {
        std::vector<double> out;
        for (const auto& s : sets) {
            seen.push_back(s);
            double v = 0; // additive: player i is worth i + 1, plus 10 when players 0 and 1 are both in
            for (int64_t i = 0; i < n_; ++i)
                v += s[static_cast<size_t>(i)] ? static_cast<double>(i + 1) : 0.0;
            if (s[0] && s[1]) v += 10;
            out.push_back(v);
        }
        return out;
    }
    double forwardPasses() const override { return 0; }
    std::vector<std::vector<bool>> seen;

private:
    int64_t n_;
};

} // namespace

TEST(PresentAbsent, LeaveOneOutOnAToyGame) {
    RecordingGame game(4);
    PresentAbsentOptions o;
    o.subnetworks = Subnetworks::LeaveOneOut;
    const auto r = presentAbsent(game, o);
    EXPECT_EQ(r.subnetworks, 5);
    // v(all) = 1+2+3+4+10 = 20; without i: 20 - (i+1) - (10 if i < 2).
    // present_i = mean of v(all) and v(-j) for j != i; absent_i = v(-i).
    const double vAll = 20, vMinus[4] = {9, 8, 17, 16};
    const auto& s = r.scores.scores.at("present_absent")[Unit::Block];
    for (int i = 0; i < 4; ++i) {
        double present = vAll;
        for (int j = 0; j < 4; ++j)
            if (j != i) present += vMinus[j];
        EXPECT_NEAR(s[static_cast<size_t>(i)], present / 4 - vMinus[i], 1e-12) << i;
    }
    EXPECT_EQ(r.scores.stdErr.count("present_absent"), 0u);
}

TEST(PresentAbsent, RandomSubnetworksKeepTheFraction) {
    RecordingGame game(6);
    PresentAbsentOptions o;
    o.samples = 40;
    o.fraction = 0.5;
    o.seed = 3;
    const auto r = presentAbsent(game, o);
    ASSERT_EQ(game.seen.size(), 40u);
    for (const auto& s : game.seen)
        EXPECT_EQ(std::count(s.begin(), s.end(), true), 3);
    // By hand from the coalitions the game saw.
    const auto& score = r.scores.scores.at("present_absent")[Unit::Block];
    for (int64_t i = 0; i < 6; ++i) {
        double sum[2] = {0, 0};
        int n[2] = {0, 0};
        for (const auto& s : game.seen) {
            double v = 0;
            for (int64_t k = 0; k < 6; ++k)
                v += s[static_cast<size_t>(k)] ? static_cast<double>(k + 1) : 0.0;
            if (s[0] && s[1]) v += 10;
            const int side = s[static_cast<size_t>(i)] ? 1 : 0;
            sum[side] += v;
            ++n[side];
        }
        EXPECT_NEAR(score[static_cast<size_t>(i)], sum[1] / n[1] - sum[0] / n[0], 1e-12);
    }
    EXPECT_EQ(r.scores.stdErr.at("present_absent")[Unit::Block].size(), 6u);
    o.samples = 1;
    EXPECT_THROW(presentAbsent(game, o), Error);
}

TEST(PresentAbsent, ModelGameMatchesBruteForcePasses) {
    auto model = Model::load(demoDir(), {test::testDevice(), torch::kFloat32});
    const int64_t L = model->numLayers();
    std::vector<TokenWindow> windows;
    std::mt19937_64 rng(1);
    for (int w = 0; w < 3; ++w) {
        TokenWindow t;
        for (int i = 0; i < 20; ++i)
            t.ids.push_back(static_cast<int64_t>(rng() % 8192));
        windows.push_back(t);
    }
    for (auto kind : {Subnetworks::LeaveOneOut, Subnetworks::Random}) {
        PresentAbsentOptions o;
        o.unit = Unit::Ffn;
        o.subnetworks = kind;
        o.samples = 12;
        o.seed = 5;
        o.batchSize = 2; // two batches of unequal size: pooling by tokens
        const auto r = presentAbsent(*model, windows, o);
        // Brute force: the same sub-networks (a recording game replays the sampler), each scored by
        // a fresh forward pass over all windows at once.
        RecordingGame recorder(L);
        presentAbsent(recorder, o);
        torch::InferenceMode inference;
        std::vector<std::vector<int64_t>> rows;
        for (const auto& w : windows)
            rows.push_back(w.ids);
        auto ids = torch::stack({torch::tensor(rows[0]), torch::tensor(rows[1]), torch::tensor(rows[2])})
                       .to(model->device());
        std::vector<double> v;
        for (const auto& s : recorder.seen) {
            LayerMask mask(L);
            for (int64_t l = 0; l < L; ++l)
                if (!s[static_cast<size_t>(l)]) mask.remove(Unit::Ffn, l);
            v.push_back(-nextTokenLoss(model->forward(ids, mask), ids).mean());
        }
        const auto& score = r.scores.scores.at("present_absent")[Unit::Ffn];
        for (int64_t i = 0; i < L; ++i) {
            double sum[2] = {0, 0};
            int n[2] = {0, 0};
            for (size_t k = 0; k < v.size(); ++k) {
                const int side = recorder.seen[k][static_cast<size_t>(i)] ? 1 : 0;
                sum[side] += v[k];
                ++n[side];
            }
            if (n[0] == 0 || n[1] == 0) continue;
            EXPECT_NEAR(score[static_cast<size_t>(i)], sum[1] / n[1] - sum[0] / n[0], 2e-5) << i;
        }
        EXPECT_LT(r.scores.forwardPasses, r.scores.naiveForwardPasses); // shared prefixes reused
    }
}
