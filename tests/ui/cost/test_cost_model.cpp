#include "cost/cost_model.h"
#include "export/pruning_cost.h"
#include "model/model.h"
#include "ui_test_helpers.h"
#include "workspace/workspace.h"

#include <QAbstractItemModelTester>

#include <gtest/gtest.h>

#include <cmath>

using namespace layerlab;
using namespace layerlab::ui;

namespace {

struct CostFixture : ::testing::Test {
    Workspace ws;
    CostModel model{&ws};
    QAbstractItemModelTester tester{&model, QAbstractItemModelTester::FailureReportingMode::Fatal};

    void SetUp() override { ws.setModel(nullptr, nullptr, test::demoSummary()); }
    double value(int row, int column) {
        return model.index(row, column).data(CostModel::ValueRole).toDouble();
    }
    QuickEvaluation evaluation(const std::string& spec, double loss, double acc) {
        QuickEvaluation e;
        e.level = 1;
        e.mask = LayerMask::parse(spec, 10);
        e.hasLoss = true;
        e.loss = loss;
        e.perplexity = std::exp(loss);
        e.tasks.push_back({"next_verse", acc, acc, 0.03, 0.03, 200});
        return e;
    }
};

} // namespace

TEST_F(CostFixture, FullModelCosts) {
    EXPECT_EQ(model.rowCount(), CostModel::FirstTaskRow); // no tasks evaluated yet
    EXPECT_DOUBLE_EQ(value(CostModel::ParametersRow, CostModel::FullColumn), 13702400);
    EXPECT_DOUBLE_EQ(value(CostModel::KvCacheRow, CostModel::FullColumn), 5120);
    // The core's count (norm weights are no matmul): LM head 2 x 8192 x 256 = 4,194,304, plus per
    // layer 2 x (164,096 - 256) = 327,680 (attention) + 2 x (786,688 - 256) = 1,572,864 (FFN):
    // 4,194,304 + 10 x 1,900,544 = 23,199,744.
    EXPECT_DOUBLE_EQ(value(CostModel::FlopsRow, CostModel::FullColumn), 23199744);
    EXPECT_DOUBLE_EQ(value(CostModel::ParametersRow, CostModel::ChangeColumn), 0);
    EXPECT_FALSE(model.index(CostModel::LossRow, CostModel::FullColumn).data(CostModel::ValueRole).isValid());
}

TEST_F(CostFixture, SavingsFollowTheRemovalSet) {
    ws.toggle(Unit::Block, 3);
    ws.toggle(Unit::Attention, 5);
    // block 3: 950,784 parameters; attention 5: 164,096; two attention sub-layers' KV cache: 2 x 512 bytes
    EXPECT_DOUBLE_EQ(value(CostModel::ParametersRow, CostModel::ChangeColumn), -(950784.0 + 164096.0));
    EXPECT_DOUBLE_EQ(value(CostModel::ParametersRow, CostModel::PrunedColumn), 13702400.0 - 1114880.0);
    EXPECT_DOUBLE_EQ(value(CostModel::KvCacheRow, CostModel::ChangeColumn), -1024);
    // block 3: 1,900,544 FLOPs; attention 5: 327,680
    EXPECT_DOUBLE_EQ(value(CostModel::FlopsRow, CostModel::ChangeColumn), -(1900544.0 + 327680.0));
    // -1,114,880 / 13,702,400 = -8.1 %
    EXPECT_TRUE(model.index(CostModel::ParametersRow, CostModel::ChangeColumn)
                    .data()
                    .toString()
                    .endsWith(QStringLiteral("(-8.1%)")));
}

TEST_F(CostFixture, EvaluationAgainstTheFullModel) {
    ws.addEvaluation(evaluation("", 3.0, 0.40));
    ws.setMask(LayerMask::parse("block:4", 10));
    ws.addEvaluation(evaluation("block:4", 3.5, 0.31));
    ASSERT_EQ(model.rowCount(), CostModel::FirstTaskRow + 2);
    EXPECT_DOUBLE_EQ(value(CostModel::LossRow, CostModel::FullColumn), 3.0);
    EXPECT_DOUBLE_EQ(value(CostModel::LossRow, CostModel::PrunedColumn), 3.5);
    EXPECT_DOUBLE_EQ(value(CostModel::LossRow, CostModel::ChangeColumn), 0.5);
    EXPECT_NEAR(value(CostModel::PerplexityRow, CostModel::ChangeColumn), std::exp(3.5) - std::exp(3.0),
                1e-9);
    EXPECT_NEAR(value(CostModel::FirstTaskRow, CostModel::ChangeColumn), -0.09, 1e-12);
    EXPECT_EQ(model.index(CostModel::FirstTaskRow, CostModel::QuantityColumn).data().toString(),
              "next_verse acc");
    EXPECT_EQ(model.index(CostModel::FirstTaskRow, CostModel::ChangeColumn).data().toString(), "-9.0 pt");
    EXPECT_FALSE(
        model.index(CostModel::LossRow, CostModel::PrunedColumn).data(CostModel::StaleRole).toBool());
    // another toggle: the evaluation no longer describes the removal set
    ws.toggle(Unit::Ffn, 0);
    EXPECT_TRUE(model.index(CostModel::LossRow, CostModel::PrunedColumn).data(CostModel::StaleRole).toBool());
}

TEST_F(CostFixture, TheLossShowsWhileTheTasksRun) {
    ws.addEvaluation(evaluation("", 3.0, 0.40));
    ws.setMask(LayerMask::parse("attn:2", 10));
    auto partial = evaluation("attn:2", 3.2, 0);
    partial.tasksPending = true;
    partial.tasks[0] = {"next_verse"};
    ws.addEvaluation(partial);
    ASSERT_EQ(model.rowCount(), CostModel::FirstTaskRow + 2); // the task rows stay
    EXPECT_DOUBLE_EQ(value(CostModel::LossRow, CostModel::PrunedColumn), 3.2);
    EXPECT_NEAR(value(CostModel::LossRow, CostModel::ChangeColumn), 0.2, 1e-12);
    for (int col : {CostModel::PrunedColumn, CostModel::ChangeColumn}) {
        const auto cell = model.index(CostModel::FirstTaskRow, col);
        EXPECT_FALSE(cell.data(CostModel::ValueRole).isValid()); // no 0% while it runs
        EXPECT_EQ(cell.data().toString(), QStringLiteral("\u2026"));
    }
    EXPECT_DOUBLE_EQ(value(CostModel::FirstTaskRow, CostModel::FullColumn), 0.40);
    ws.addEvaluation(evaluation("attn:2", 3.2, 0.35));
    EXPECT_NEAR(value(CostModel::FirstTaskRow, CostModel::ChangeColumn), -0.05, 1e-12);
}

TEST_F(CostFixture, BlockAndSubLayersCountOnce) {
    // block 3, attention of 5, and attention of 3 again (already off with its block)
    ws.setMask(LayerMask::parse("block:3,attn:5,attn:3", 10));
    EXPECT_DOUBLE_EQ(value(CostModel::ParametersRow, CostModel::ChangeColumn), -(950784.0 + 164096.0));
    EXPECT_DOUBLE_EQ(value(CostModel::KvCacheRow, CostModel::ChangeColumn), -2 * 512);
    EXPECT_DOUBLE_EQ(value(CostModel::FlopsRow, CostModel::ChangeColumn), -(1900544.0 + 327680.0));
    // Removing only FFNs saves no KV cache: 10 layers x 2 (K, V) x 2 KV heads x 32 x 4 bytes stay.
    ws.setMask(LayerMask::parse("ffn:0-9", 10));
    EXPECT_DOUBLE_EQ(value(CostModel::KvCacheRow, CostModel::PrunedColumn), 5120);
    EXPECT_DOUBLE_EQ(value(CostModel::FlopsRow, CostModel::PrunedColumn), 4194304.0 + 10 * 327680.0);
}

TEST(CostModel, Bf16HalvesTheKvCache) {
    auto s = test::demoSummary();
    s.computeDtypeBytes = 2;
    EXPECT_EQ(removalCost(s, LayerMask(10)).kvBytesPerToken, 2560);
    EXPECT_EQ(removalCost(s, LayerMask::parse("attn:0", 10)).kvBytesPerTokenSaved, 256);
}

TEST(CostModel, SummaryOfTheLoadedDemoMatchesTheHandCount) {
    if (test::demoDir().isEmpty()) GTEST_SKIP() << "demo model not found";
    const auto model = Model::load(test::demoDir().toStdString(), LoadOptions{});
    const auto s = summarize(*model);
    const auto hand = test::demoSummary();
    EXPECT_EQ(s.parameters.total, hand.parameters.total);
    EXPECT_EQ(s.parameters.attention, hand.parameters.attention);
    EXPECT_EQ(s.parameters.ffn, hand.parameters.ffn);
    EXPECT_EQ(s.computeDtypeBytes, 4);
    // The summary gives the core what the model itself would.
    const auto mask = LayerMask::parse("block:2,ffn:7", 10);
    const auto direct = pruningCost(model->config(), model->parameterCounts(), mask, 4);
    const auto viaSummary = removalCost(s, mask);
    EXPECT_EQ(viaSummary.parametersRemoved, direct.parametersRemoved);
    EXPECT_EQ(viaSummary.kvBytesPerTokenSaved, direct.kvBytesPerTokenSaved);
    EXPECT_DOUBLE_EQ(viaSummary.flopsPerToken, 23199744);
    EXPECT_DOUBLE_EQ(viaSummary.flopsPerTokenSaved, direct.flopsPerTokenSaved);
}
