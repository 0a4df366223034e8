#include "layer_map/layer_map_model.h"
#include "ui_test_helpers.h"
#include "workspace/workspace.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QSortFilterProxyModel>

#include <gtest/gtest.h>

using namespace layerlab;
using namespace layerlab::ui;

namespace {

// Four layers with hand-picked scores: cosine per block and attention, shapley per block with
// standard errors, angular for runs of 2 (3 entries).
struct LayerMapFixture : ::testing::Test {
    Workspace ws;
    LayerMapModel model{&ws};
    QAbstractItemModelTester tester{&model, QAbstractItemModelTester::FailureReportingMode::Fatal};

    void SetUp() override {
        ModelSummary s = test::demoSummary();
        s.config.numLayers = 4;
        s.parameters.attention.resize(4);
        s.parameters.ffn.resize(4);
        ws.setModel(nullptr, nullptr, s);
        ScoreTable t;
        t.values["cosine"][static_cast<size_t>(Unit::Block)] = {0.3, 0.1, 0.4, 0.2};
        t.values["cosine"][static_cast<size_t>(Unit::Attention)] = {0.05, 0.05, 0.02, 0.08};
        t.values["shapley"][static_cast<size_t>(Unit::Block)] = {-0.5, 1.5, 0.5, 2.5};
        t.stdErr["shapley"][static_cast<size_t>(Unit::Block)] = {0.1, 0.2, 0.3, 0.4};
        t.values["angular"][static_cast<size_t>(Unit::Block)] = {0.2, 0.1, 0.3};
        t.angularN = 2;
        ws.mergeScores(t);
    }
    QModelIndex at(int row, const std::string& metric, Unit unit) {
        return model.index(row, model.columnOf(metric, unit));
    }
};

} // namespace

TEST_F(LayerMapFixture, ColumnsFollowTheMetricOrder) {
    EXPECT_EQ(model.rowCount(), 4);
    // layer, 3 checkboxes, cosine block + attn, angular block, shapley block
    ASSERT_EQ(model.columnCount(), LayerMapModel::FirstMetricColumn + 4);
    EXPECT_EQ(model.columnOf("cosine", Unit::Block), LayerMapModel::FirstMetricColumn);
    EXPECT_EQ(model.columnOf("cosine", Unit::Attention), LayerMapModel::FirstMetricColumn + 1);
    EXPECT_EQ(model.columnOf("angular", Unit::Block), LayerMapModel::FirstMetricColumn + 2);
    EXPECT_EQ(model.columnOf("shapley", Unit::Block), LayerMapModel::FirstMetricColumn + 3);
    EXPECT_EQ(model.columnOf("cosine", Unit::Ffn), -1);
    EXPECT_EQ(model.headerData(LayerMapModel::FirstMetricColumn, Qt::Horizontal).toString(), "cosine\nblock");
}

TEST_F(LayerMapFixture, ValuesRanksAndColourScale) {
    const auto c = at(0, "cosine", Unit::Block);
    EXPECT_DOUBLE_EQ(c.data(LayerMapModel::ValueRole).toDouble(), 0.3);
    EXPECT_EQ(c.data(Qt::DisplayRole).toString(), "0.3");
    // ranks ascending: 0.1 (layer 1) = 1, 0.2 (3) = 2, 0.3 (0) = 3, 0.4 (2) = 4
    EXPECT_EQ(c.data(LayerMapModel::RankRole).toInt(), 3);
    EXPECT_EQ(at(1, "cosine", Unit::Block).data(LayerMapModel::RankRole).toInt(), 1);
    // colour position (0.3 - 0.1) / (0.4 - 0.1)
    EXPECT_NEAR(c.data(LayerMapModel::NormalizedRole).toDouble(), 2.0 / 3.0, 1e-12);
    // ties keep layer order
    EXPECT_EQ(at(0, "cosine", Unit::Attention).data(LayerMapModel::RankRole).toInt(), 2);
    EXPECT_EQ(at(1, "cosine", Unit::Attention).data(LayerMapModel::RankRole).toInt(), 3);
    EXPECT_EQ(at(2, "cosine", Unit::Attention).data(LayerMapModel::RankRole).toInt(), 1);

    model.setRankView(true);
    EXPECT_EQ(c.data(Qt::DisplayRole).toString(), "3");
    EXPECT_DOUBLE_EQ(c.data(LayerMapModel::SortRole).toDouble(), 3.0);
    EXPECT_NEAR(c.data(LayerMapModel::NormalizedRole).toDouble(), 2.0 / 3.0, 1e-12); // (3 - 1) / (4 - 1)
    EXPECT_TRUE(
        model.headerData(LayerMapModel::FirstMetricColumn, Qt::Horizontal).toString().contains("rank"));
}

TEST_F(LayerMapFixture, StdErrAndMissingEntries) {
    const auto s = at(3, "shapley", Unit::Block);
    EXPECT_DOUBLE_EQ(s.data(LayerMapModel::StdErrRole).toDouble(), 0.4);
    EXPECT_TRUE(s.data(Qt::ToolTipRole).toString().contains(QStringLiteral("\u00b1 0.4")));
    EXPECT_FALSE(at(3, "cosine", Unit::Block).data(LayerMapModel::StdErrRole).isValid());
    // angular n=2 on 4 layers has no run starting at layer 3
    const auto a = at(3, "angular", Unit::Block);
    EXPECT_FALSE(a.data(LayerMapModel::ValueRole).isValid());
    EXPECT_DOUBLE_EQ(a.data(LayerMapModel::NormalizedRole).toDouble(), -1.0);
    EXPECT_TRUE(at(1, "angular", Unit::Block).data(Qt::ToolTipRole).toString().contains("blocks 1-2"));
}

TEST_F(LayerMapFixture, SortingThroughAProxy) {
    QSortFilterProxyModel proxy;
    proxy.setSourceModel(&model);
    proxy.setSortRole(LayerMapModel::SortRole);
    proxy.sort(model.columnOf("cosine", Unit::Block), Qt::AscendingOrder);
    std::vector<int> layers;
    for (int r = 0; r < 4; ++r)
        layers.push_back(proxy.index(r, LayerMapModel::LayerColumn).data().toInt());
    EXPECT_EQ(layers, (std::vector<int>{1, 3, 0, 2}));
    proxy.sort(model.columnOf("angular", Unit::Block), Qt::AscendingOrder); // missing entry last
    EXPECT_EQ(proxy.index(3, LayerMapModel::LayerColumn).data().toInt(), 3);
    EXPECT_EQ(proxy.index(0, LayerMapModel::LayerColumn).data().toInt(), 1);
}

TEST_F(LayerMapFixture, CheckboxesAndCellClicksToggleUnits) {
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    const auto attnBox = model.index(2, LayerMapModel::AttentionOnColumn);
    EXPECT_EQ(attnBox.data(Qt::CheckStateRole).value<Qt::CheckState>(), Qt::Checked);
    EXPECT_TRUE(model.setData(attnBox, Qt::Unchecked, Qt::CheckStateRole));
    EXPECT_EQ(ws.mask().toSpec(), "attn:2");
    EXPECT_GE(changed.count(), 1);
    EXPECT_EQ(attnBox.data(Qt::CheckStateRole).value<Qt::CheckState>(), Qt::Unchecked);
    // the block still runs its FFN: partly checked
    EXPECT_EQ(model.index(2, LayerMapModel::BlockOnColumn).data(Qt::CheckStateRole).value<Qt::CheckState>(),
              Qt::PartiallyChecked);
    EXPECT_TRUE(at(2, "cosine", Unit::Attention).data(LayerMapModel::RemovedRole).toBool());
    EXPECT_FALSE(at(2, "cosine", Unit::Block).data(LayerMapModel::RemovedRole).toBool());

    // a click on a metric cell toggles its unit; a click on the checkbox column does not
    EXPECT_TRUE(model.toggleAt(at(0, "shapley", Unit::Block)));
    EXPECT_EQ(ws.mask().toSpec(), "block:0,attn:2");
    EXPECT_TRUE(at(0, "cosine", Unit::Attention).data(LayerMapModel::RemovedRole).toBool()); // inside block 0
    EXPECT_FALSE(model.toggleAt(model.index(0, LayerMapModel::BlockOnColumn)));
    EXPECT_FALSE(model.toggleAt(model.index(0, LayerMapModel::LayerColumn)));
    // setting the state it already has changes nothing
    EXPECT_FALSE(model.setData(attnBox, Qt::Unchecked, Qt::CheckStateRole));
    EXPECT_TRUE(model.setData(model.index(0, LayerMapModel::BlockOnColumn), Qt::Checked, Qt::CheckStateRole));
    EXPECT_EQ(ws.mask().toSpec(), "attn:2");
}

TEST_F(LayerMapFixture, NewScoresResetTheColumns) {
    ScoreTable t;
    t.values["drop_loss"][static_cast<size_t>(Unit::Ffn)] = {1, 2, 3, 4};
    ws.mergeScores(t);
    EXPECT_EQ(model.columnCount(), LayerMapModel::FirstMetricColumn + 5);
    EXPECT_EQ(model.columnOf("drop_loss", Unit::Ffn), LayerMapModel::FirstMetricColumn + 3);
    ws.clearScores();
    EXPECT_EQ(model.columnCount(), LayerMapModel::FirstMetricColumn);
}

TEST(LayerMapColourRange, OutliersDoNotFlattenTheScale) {
    // quartiles 0.05 and 0.06: the far-out fence is 0.06 + 3 x 0.01 = 0.09
    const auto [lo, hi] = colourRange({0.04, 0.05, 0.06, 0.05, 0.7});
    EXPECT_DOUBLE_EQ(lo, 0.04);
    EXPECT_NEAR(hi, 0.09, 1e-12);
    const auto [a, b] = colourRange({1, 2, 3, 4});
    EXPECT_DOUBLE_EQ(a, 1);
    EXPECT_DOUBLE_EQ(b, 4);
    const auto [c, d] = colourRange({5, 5, 5});
    EXPECT_DOUBLE_EQ(c, 5);
    EXPECT_DOUBLE_EQ(d, 5);
}
