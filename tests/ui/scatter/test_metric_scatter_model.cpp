// The metric scatter's table against a hand-built score table.
#include "scatter/metric_scatter_model.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace layerlab;
using namespace layerlab::ui;

TEST(MetricScatterModel, OneRowPerLayerWithBothMetricsAndHandCountedCorrelations) {
    ScoreTable t;
    t.values["cosine"][static_cast<size_t>(Unit::Attention)] = {1, 2, 3, 4, 9};
    t.values["drop_loss"][static_cast<size_t>(Unit::Attention)] = {2, 1, 4, 3, NAN};
    MetricScatterModel m;
    m.setData(t, "cosine", "drop_loss", Unit::Attention);
    ASSERT_EQ(m.rowCount(), 4); // layer 4 has no drop_loss
    EXPECT_EQ(m.index(2, MetricScatterModel::LayerColumn).data().toDouble(), 2.0);
    EXPECT_EQ(m.index(2, MetricScatterModel::XColumn).data().toDouble(), 3.0);
    EXPECT_EQ(m.index(2, MetricScatterModel::YColumn).data().toDouble(), 4.0);
    // Ranks (0,1,2,3) vs (1,0,3,2): rho = 1 - 6 * 4 / (4 * 15) = 0.6; tau = (4 - 2) / 6.
    EXPECT_NEAR(m.spearman(), 0.6, 1e-12);
    EXPECT_NEAR(m.kendall(), 1.0 / 3.0, 1e-12);
    EXPECT_EQ(m.headerData(MetricScatterModel::XColumn, Qt::Horizontal).toString(), "cosine attn");

    m.setData(t, "cosine", "taylor", Unit::Attention); // not computed
    EXPECT_EQ(m.rowCount(), 0);
    EXPECT_TRUE(std::isnan(m.spearman()));
}
