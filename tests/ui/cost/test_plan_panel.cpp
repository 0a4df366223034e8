// One-click plans through the core's pruning_plan, on hand-made scores.

#include "cost/plan_panel.h"
#include "ui_test_helpers.h"
#include "workspace/workspace.h"

#include <QSignalSpy>

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace layerlab;
using namespace layerlab::ui;

namespace {

struct PlanFixture : ::testing::Test {
    Workspace ws;
    PlanPanel panel{&ws};

    void SetUp() override { ws.setModel(nullptr, nullptr, test::demoSummary()); }
    void scores(const std::string& metric, Unit unit, const std::vector<double>& v, int64_t angularN = 0) {
        ScoreTable t;
        t.values[metric][static_cast<size_t>(unit)] = v;
        t.angularN = angularN;
        ws.mergeScores(t);
    }
};

} // namespace

TEST_F(PlanFixture, LeastImportantTakesTheLowestScores) {
    scores("cosine", Unit::Attention, {0.5, 0.1, 0.9, 0.1, 0.3, 0.8, 0.7, 0.6, 0.95, 0.99});
    scores("cosine", Unit::Block, {0.5, 0.1, 0.9, 0.1, 0.3, 0.8, 0.7, 0.6, 0.95, 0.99});
    panel.setChoice("cosine", static_cast<int>(Unit::Attention), 3);
    ASSERT_TRUE(panel.applyLeastImportant());
    EXPECT_EQ(ws.mask().toSpec(), "attn:1,attn:3-4");
    panel.setChoice("cosine", static_cast<int>(Unit::Block), 1);
    ASSERT_TRUE(panel.applyLeastImportant());
    EXPECT_EQ(ws.mask().toSpec(), "block:1");                     // tie between 1 and 3: lower layer first
    panel.setChoice("cosine", static_cast<int>(Unit::Block), 99); // clamped to the 10 layers
    ASSERT_TRUE(panel.applyLeastImportant());
    EXPECT_EQ(ws.mask().toSpec(), "block:0-9");
    // no FFN scores: nothing changes
    panel.setChoice("cosine", static_cast<int>(Unit::Ffn), 2);
    EXPECT_FALSE(panel.applyLeastImportant());
    EXPECT_EQ(ws.mask().toSpec(), "block:0-9");
}

TEST_F(PlanFixture, NaNScoresGoLast) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    scores("drop_loss", Unit::Ffn, {nan, 0.4, 0.3, 0.2, 0.9, 0.9, 0.9, 0.9, 0.9, 0.9});
    panel.setChoice("drop_loss", static_cast<int>(Unit::Ffn), 2);
    ASSERT_TRUE(panel.applyLeastImportant());
    EXPECT_EQ(ws.mask().toSpec(), "ffn:2-3");
}

TEST_F(PlanFixture, BestRunIsTheSmallestAngularDistance) {
    QSignalSpy needed(&panel, &PlanPanel::angularNeeded);
    panel.setRunLength(3);
    EXPECT_FALSE(panel.applyBestRun()); // no angular scores yet
    ASSERT_EQ(needed.count(), 1);
    EXPECT_EQ(needed.first().at(0).toInt(), 3);
    // n = 3 on 10 layers: entries for starts 0..7
    scores("angular", Unit::Block, {0.4, 0.2, 0.15, 0.3, 0.5, 0.6, 0.7, 0.8}, 3);
    ASSERT_TRUE(panel.applyBestRun());
    EXPECT_EQ(ws.mask().toSpec(), "block:2-4");
    panel.setRunLength(2); // scores are for n = 3: asks again
    EXPECT_FALSE(panel.applyBestRun());
    EXPECT_EQ(needed.count(), 2);
}
