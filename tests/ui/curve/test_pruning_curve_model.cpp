// The pruning curve's table and chart series, from hand-made points.

#include "curve/pruning_curve_model.h"
#include "export/report_export.h"

#include <QAbstractItemModelTester>
#include <QFile>
#include <QTemporaryDir>

#include <gtest/gtest.h>

#include <cmath>

using namespace layerlab;
using namespace layerlab::ui;

namespace {

PruningCurvePoint point(const std::string& metric, int64_t k, const std::string& spec, double loss,
                        std::optional<double> acc = std::nullopt) {
    PruningCurvePoint p;
    p.metric = metric;
    p.unit = Unit::Block;
    p.unitsRemoved = k;
    p.mask = LayerMask::parse(spec, 10);
    p.evaluation.level = 1;
    p.evaluation.mask = p.mask;
    p.evaluation.hasLoss = true;
    p.evaluation.loss = loss;
    p.evaluation.perplexity = std::exp(loss);
    if (acc) p.evaluation.tasks.push_back({"next_verse", *acc, *acc + 0.01, 0.05, 0.05, 60});
    return p;
}

} // namespace

TEST(PruningCurveModel, RowsColumnsAndSeries) {
    PruningCurveModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    EXPECT_EQ(model.columnCount(), PruningCurveModel::FirstTaskColumn);
    model.addPoint(point("cosine", 0, "", 3.0));
    model.addPoint(point("cosine", 2, "block:4-5", 4.0));
    model.addPoint(point("cosine", 1, "block:5", 3.5));
    model.addPoint(point("drop_loss", 0, "", 3.0));
    model.addPoint(point("drop_loss", 1, "block:8", 3.1));
    ASSERT_EQ(model.rowCount(), 5);
    EXPECT_EQ(model.metrics(), (std::vector<std::string>{"cosine", "drop_loss"}));

    // series: sorted by units removed, perplexity = exp(loss)
    const auto ppl = model.series("cosine", PruningCurveModel::PerplexityColumn);
    ASSERT_EQ(ppl.size(), 3u);
    EXPECT_EQ(ppl[0].x(), 0);
    EXPECT_EQ(ppl[1].x(), 1);
    EXPECT_EQ(ppl[2].x(), 2);
    EXPECT_NEAR(ppl[1].y(), std::exp(3.5), 1e-9);
    const auto loss = model.series("drop_loss", PruningCurveModel::LossColumn);
    ASSERT_EQ(loss.size(), 2u);
    EXPECT_DOUBLE_EQ(loss[1].y(), 3.1);

    // the same (metric, k) again replaces the row
    model.addPoint(point("drop_loss", 1, "block:9", 3.05));
    EXPECT_EQ(model.rowCount(), 5);
    EXPECT_DOUBLE_EQ(model.series("drop_loss", PruningCurveModel::LossColumn)[1].y(), 3.05);
    EXPECT_EQ(model.index(4, PruningCurveModel::RemovedColumn).data().toString(), "block:9");
    EXPECT_EQ(model.index(0, PruningCurveModel::RemovedColumn).data().toString(), "none");
    EXPECT_EQ(model.index(1, PruningCurveModel::PerplexityColumn).data().toString(),
              QString::number(std::exp(4.0), 'f', 2));
    EXPECT_EQ(model.quantityColumns(),
              (std::vector<int>{PruningCurveModel::PerplexityColumn, PruningCurveModel::LossColumn}));
}

TEST(PruningCurveModel, TaskColumnsAndPointsWithoutAValue) {
    PruningCurveModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::Fatal);
    model.addPoint(point("cosine", 0, "", 3.0)); // no task: its accuracy is missing
    model.addPoint(point("cosine", 1, "block:5", 3.5, 0.40));
    model.addPoint(point("cosine", 2, "block:4-5", 4.0, 0.30));
    ASSERT_EQ(model.columnCount(), PruningCurveModel::FirstTaskColumn + 2);
    EXPECT_EQ(model.headerData(PruningCurveModel::FirstTaskColumn, Qt::Horizontal).toString(),
              "next_verse acc");
    EXPECT_EQ(model.headerData(PruningCurveModel::FirstTaskColumn + 1, Qt::Horizontal).toString(),
              "next_verse acc_norm");
    const auto acc = model.series("cosine", PruningCurveModel::FirstTaskColumn);
    ASSERT_EQ(acc.size(), 2u); // k = 0 has none
    EXPECT_EQ(acc[0], QPointF(1, 0.40));
    EXPECT_EQ(acc[1], QPointF(2, 0.30));
    EXPECT_NEAR(model.series("cosine", PruningCurveModel::FirstTaskColumn + 1)[1].y(), 0.31, 1e-12);
    EXPECT_TRUE(model.higherIsBetter(PruningCurveModel::FirstTaskColumn));
    EXPECT_FALSE(model.higherIsBetter(PruningCurveModel::PerplexityColumn));
    EXPECT_EQ(model.index(0, PruningCurveModel::FirstTaskColumn).data().toString(), "\u2014");
    EXPECT_EQ(model.index(1, PruningCurveModel::FirstTaskColumn).data().toString(), "40.0%");

    // CSV through the report exporter: numbers at full precision, missing values empty
    QTemporaryDir dir;
    const auto path = dir.filePath("curve.csv");
    ASSERT_EQ(saveTableCsv(model, path, PruningCurveModel::ValueRole), QString());
    QFile f(path);
    ASSERT_TRUE(f.open(QIODevice::ReadOnly));
    const auto lines = QString::fromUtf8(f.readAll()).split('\n');
    EXPECT_EQ(lines[0],
              "metric,granularity,units removed,removed,loss,perplexity,next_verse acc,next_verse acc_norm");
    EXPECT_TRUE(lines[2].startsWith("cosine,block,1,block:5,3.5,")) << lines[2].toStdString();
    EXPECT_TRUE(lines[2].endsWith(",0.40000000000000002,0.41000000000000003")) << lines[2].toStdString();

    model.clear();
    EXPECT_EQ(model.rowCount(), 0);
    EXPECT_EQ(model.columnCount(), PruningCurveModel::FirstTaskColumn);
}
