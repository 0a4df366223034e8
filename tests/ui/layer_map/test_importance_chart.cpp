// The importance chart at Llama-2-70B's depth: 80 layers stay readable (labels every 5th layer,
// spaced wider than their text), and a 10-layer model keeps one label per layer.

#include "layer_map/importance_chart.h"
#include "layer_map/layer_map_model.h"
#include "ui_test_helpers.h"
#include "workspace/workspace.h"

#include <QApplication>
#include <QBarCategoryAxis>
#include <QChart>
#include <QChartView>
#include <QValueAxis>

#include <gtest/gtest.h>

using namespace layerlab;
using namespace layerlab::ui;

namespace {

void useLayers(Workspace& ws, int layers) {
    ModelSummary s = test::demoSummary();
    s.config.numLayers = layers;
    s.parameters.attention.resize(static_cast<size_t>(layers));
    s.parameters.ffn.resize(static_cast<size_t>(layers));
    ws.setModel(nullptr, nullptr, s);
    ScoreTable t;
    for (auto unit : {Unit::Block, Unit::Attention, Unit::Ffn}) {
        std::vector<double> v;
        for (int l = 0; l < layers; ++l)
            v.push_back(0.01 * ((l * 37 + static_cast<int>(unit) * 11) % 50));
        t.values["cosine"][static_cast<size_t>(unit)] = v;
    }
    ws.mergeScores(t);
}

} // namespace

TEST(ImportanceChart, LabelStepGrowsWithTheLayers) {
    EXPECT_EQ(layerLabelStep(10), 1);
    EXPECT_EQ(layerLabelStep(16), 1);
    EXPECT_EQ(layerLabelStep(32), 2);
    EXPECT_EQ(layerLabelStep(80), 5);
    EXPECT_EQ(layerLabelStep(126), 10);
}

namespace {

// The chart at its share of the window at 1366 x 768: the layer numbers on a value axis every
// `step` layers, with room to spare for the widest label.
void expectReadableLabels(int layers, int step) {
    Workspace ws;
    useLayers(ws, layers);
    LayerMapModel map(&ws);
    EXPECT_EQ(map.rowCount(), layers);
    ImportanceChart chart(&ws);
    chart.resize(700, 360);
    chart.show();
    QApplication::processEvents();
    if (qEnvironmentVariableIsSet("LAYERLAB_WINDOW_SHOTS"))
        chart.grab().save(qEnvironmentVariable("LAYERLAB_WINDOW_SHOTS") +
                          QStringLiteral("/chart_%1_layers.png").arg(layers));
    auto* c = chart.chartView()->chart();
    ASSERT_EQ(c->series().size(), 1);
    QValueAxis* numbers = nullptr;
    for (auto* axis : c->axes(Qt::Horizontal)) {
        if (auto* categories = qobject_cast<QBarCategoryAxis*>(axis)) {
            EXPECT_EQ(categories->count(), layers);
            EXPECT_FALSE(categories->labelsVisible()); // one label per layer would run together
        } else if (auto* v = qobject_cast<QValueAxis*>(axis); v && v->isVisible()) {
            numbers = v;
        }
    }
    ASSERT_NE(numbers, nullptr);
    EXPECT_EQ(numbers->tickInterval(), step);
    EXPECT_EQ(numbers->min(), -0.5); // bar centres fall on whole numbers
    EXPECT_EQ(numbers->max(), layers - 0.5);
    const double perLabel = c->plotArea().width() / layers * step;
    const auto widest = QString::number((layers - 1) / step * step);
    EXPECT_GT(perLabel, 1.5 * QFontMetrics(numbers->labelsFont()).horizontalAdvance(widest)) << layers;
}

} // namespace

TEST(ImportanceChart, ThirtyTwoLayersAreLabelledEverySecondLayer) {
    expectReadableLabels(32, 2);
}

TEST(ImportanceChart, EightyLayersAreLabelledEveryFifthLayer) {
    expectReadableLabels(80, 5);
}

TEST(ImportanceChart, TenLayersKeepOneLabelEach) {
    Workspace ws;
    useLayers(ws, 10);
    ImportanceChart chart(&ws);
    chart.resize(700, 360);
    chart.show();
    QApplication::processEvents();
    int visibleValueAxes = 0;
    for (auto* axis : chart.chartView()->chart()->axes(Qt::Horizontal)) {
        if (auto* categories = qobject_cast<QBarCategoryAxis*>(axis)) {
            EXPECT_TRUE(categories->labelsVisible());
        }
        if (qobject_cast<QValueAxis*>(axis) && axis->isVisible()) ++visibleValueAxes;
    }
    EXPECT_EQ(visibleValueAxes, 0);
}
