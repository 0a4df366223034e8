// The workbench end to end on the bundled demo model: open, compute importance, toggle units,
// read the cost panel, evaluate, apply plans, export; the GUI thread must stay responsive.

#include "cost/cost_model.h"
#include "cost/cost_panel.h"
#include "cost/plan_panel.h"
#include "curve/pruning_curve_model.h"
#include "curve/pruning_curve_page.h"
#include "export/export_dialog.h"
#include "export/report_export.h"
#include "generation/generation_page.h"
#include "jobs/job_runner.h"
#include "layer_map/importance_chart.h"
#include "layer_map/layer_map_model.h"
#include "layer_map/layer_map_page.h"
#include "model/model.h"
#include "recovery/loss_curve_model.h"
#include "recovery/recovery_panel.h"
#include "report/report_content.h"
#include "report/report_controller.h"
#include "report/report_document.h"
#include "ui_test_helpers.h"
#include "window/main_window.h"
#include "workspace/workspace.h"

#include <QChartView>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QMimeData>
#include <QSettings>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTimer>

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

using namespace layerlab;
using namespace layerlab::ui;

namespace {

// Longest gap between ticks of a 5 ms timer while it runs: how long the GUI thread was blocked.
class StallMeter {
public:
    StallMeter() {
        timer_.setInterval(5);
        QObject::connect(&timer_, &QTimer::timeout,
                         [this] { maxGap_ = std::max(maxGap_, clock_.restart()); });
        clock_.start();
        timer_.start();
    }
    qint64 maxGapMs() const { return maxGap_; }

private:
    QTimer timer_;
    QElapsedTimer clock_;
    qint64 maxGap_ = 0;
};

// Waits for the job queue to run empty and says how long that took.
// Small samples keep the test quick; the numbers checked do not depend on them.
void useSmallSamples(Workspace* ws) {
    auto d = ws->dataSettings();
    d.importanceWindows = 8;
    d.evaluationWindows = 4;
    d.evaluationItems = 10;
    ws->setDataSettings(d);
}

bool waitIdle(MainWindow& w, int ms = 240000) {
    QElapsedTimer clock;
    clock.start();
    const QString what = w.jobs()->currentTitle();
    bool ok = true;
    if (w.jobs()->busy()) {
        QSignalSpy idle(w.jobs(), &JobRunner::idle);
        ok = idle.wait(ms);
    }
    std::printf("  %s: %.1f s\n", qPrintable(what), static_cast<double>(clock.elapsed()) / 1000.0);
    return ok;
}

QByteArray readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace

TEST(WorkbenchSession, DemoModelFromOpenToExport) {
    if (test::demoDir().isEmpty()) GTEST_SKIP() << "demo model not found";
    MainWindow w;
    w.setInteractive(false);
    QSignalSpy errors(&w, &MainWindow::errorReported);
    w.openModel(test::demoDir(), test::device(), "f32");
    ASSERT_TRUE(waitIdle(w));
    useSmallSamples(w.workspace());
    ASSERT_EQ(errors.count(), 0) << errors.first().at(1).toString().toStdString();
    auto* ws = w.workspace();
    ASSERT_TRUE(ws->hasModel());
    EXPECT_EQ(ws->numLayers(), 10);
    EXPECT_EQ(ws->summary().parameters.total, 13702400);
    // remembered for File > Recent models
    EXPECT_EQ(QSettings().value("recentModels").toStringList().value(0),
              QFileInfo(test::demoDir()).absoluteFilePath());
    // bundled defaults preselected
    EXPECT_EQ(ws->dataSettings().calibrationFile.filename(), "heldout.txt");
    ASSERT_EQ(ws->dataSettings().taskFiles.size(), 1u);
    EXPECT_EQ(ws->dataSettings().taskFiles[0].filename(), "next_verse.jsonl");

    {
        StallMeter meter;
        w.computeImportance({{"cosine", "angular"}, 3, 8});
        ASSERT_TRUE(waitIdle(w));
        EXPECT_LT(meter.maxGapMs(), 100) << "the GUI thread stalled while importance ran";
    }
    ASSERT_EQ(errors.count(), 0) << errors.first().at(1).toString().toStdString();
    auto* map = w.layerMap()->model();
    ASSERT_EQ(map->columnCount(), LayerMapModel::FirstMetricColumn + 4); // cosine x 3, angular
    for (int r = 0; r < 10; ++r) {
        const double v =
            map->index(r, map->columnOf("cosine", Unit::Block)).data(LayerMapModel::ValueRole).toDouble();
        EXPECT_TRUE(std::isfinite(v) && v > 0 && v < 2) << r;
    }
    EXPECT_EQ(ws->scores().angularN, 3);
    EXPECT_EQ(ws->scores().at("angular", Unit::Block).size(), 8u); // L - n + 1

    // Toggle a block through its checkbox and an attention sub-layer through its heat cell.
    auto* cost = w.costPanel()->model();
    ASSERT_TRUE(map->setData(map->index(4, LayerMapModel::BlockOnColumn), Qt::Unchecked, Qt::CheckStateRole));
    ASSERT_TRUE(map->toggleAt(map->index(7, map->columnOf("cosine", Unit::Attention))));
    EXPECT_EQ(ws->mask().toSpec(), "block:4,attn:7");
    EXPECT_DOUBLE_EQ(
        cost->index(CostModel::ParametersRow, CostModel::ChangeColumn).data(CostModel::ValueRole).toDouble(),
        -(950784.0 + 164096.0));
    EXPECT_DOUBLE_EQ(
        cost->index(CostModel::KvCacheRow, CostModel::ChangeColumn).data(CostModel::ValueRole).toDouble(),
        -1024.0);

    // Quick evaluation: full model and removal set, on the same sample.
    w.evaluate();
    ASSERT_TRUE(waitIdle(w));
    ASSERT_EQ(errors.count(), 0) << errors.first().at(1).toString().toStdString();
    ASSERT_TRUE(ws->latest().has_value());
    EXPECT_EQ(ws->latest()->mask.toSpec(), "block:4,attn:7");
    EXPECT_EQ(ws->latest()->level, 1);
    ASSERT_TRUE(ws->baseline(1).has_value());
    const double fullPpl = ws->baseline(1)->perplexity;
    EXPECT_GT(fullPpl, 10);
    EXPECT_LT(fullPpl, 60);                       // 26.3 on the whole held-out text (README)
    EXPECT_GT(ws->latest()->perplexity, fullPpl); // removing a block hurts
    ASSERT_EQ(cost->rowCount(), CostModel::FirstTaskRow + 2);
    const double acc =
        cost->index(CostModel::FirstTaskRow, CostModel::FullColumn).data(CostModel::ValueRole).toDouble();
    EXPECT_GE(acc, 0.0); // 10 items: too few for a tighter bound
    EXPECT_LE(acc, 1.0);
    EXPECT_EQ(ws->baseline(1)->tasks.at(0).items, 10);
    EXPECT_FALSE(
        cost->index(CostModel::LossRow, CostModel::PrunedColumn).data(CostModel::StaleRole).toBool());

    // Plans: best run of 3 blocks by angular distance (scores present), k least important.
    w.planPanel()->setRunLength(3);
    ASSERT_TRUE(w.planPanel()->applyBestRun());
    const auto& angular = ws->scores().at("angular", Unit::Block);
    const auto best = std::min_element(angular.begin(), angular.end()) - angular.begin();
    EXPECT_EQ(ws->mask().toSpec(), "block:" + std::to_string(best) + "-" + std::to_string(best + 2));
    w.planPanel()->setChoice("cosine", static_cast<int>(Unit::Ffn), 2);
    ASSERT_TRUE(w.planPanel()->applyLeastImportant());
    EXPECT_EQ(ws->mask().removedUnits().size(), 2u);
    EXPECT_EQ(ws->mask().removedUnits()[0].unit, Unit::Ffn);

    // Exports for reports.
    QTemporaryDir dir;
    w.chart()->setMetric("cosine");
    ASSERT_EQ(saveWidgetImage(w.chart()->chartView(), dir.filePath("chart.png"), w.chart()->title()),
              QString());
    ASSERT_EQ(saveWidgetImage(w.chart()->chartView(), dir.filePath("chart.svg"), w.chart()->title()),
              QString());
    ASSERT_EQ(w.chart()->saveCsv(dir.filePath("chart.csv")), QString());
    ASSERT_EQ(
        saveTableCsv(*map, dir.filePath("map.csv"), LayerMapModel::ValueRole, LayerMapModel::StdErrRole),
        QString());
    EXPECT_TRUE(readAll(dir.filePath("chart.png")).startsWith("\x89PNG"));
    EXPECT_TRUE(readAll(dir.filePath("chart.svg")).contains("Importance per layer: cosine"));
    const auto chartCsv = readAll(dir.filePath("chart.csv"));
    EXPECT_TRUE(chartCsv.startsWith("layer,cosine block,cosine attn,cosine ffn\n0,"));
    EXPECT_EQ(chartCsv.count('\n'), 11);
    const auto mapCsv = readAll(dir.filePath("map.csv"));
    EXPECT_TRUE(mapCsv.startsWith("layer,runs block,runs attn,runs ffn,cosine block,"))
        << mapCsv.left(80).toStdString();
}

TEST(WorkbenchSession, AutoEvaluateFollowsToggles) {
    if (test::demoDir().isEmpty()) GTEST_SKIP() << "demo model not found";
    MainWindow w;
    w.setInteractive(false);
    w.openModel(test::demoDir(), test::device(), "f32");
    ASSERT_TRUE(waitIdle(w));
    useSmallSamples(w.workspace());
    w.costPanel()->setAutoEvaluate(true); // evaluates the full model at once
    auto* ws = w.workspace();
    ws->toggle(Unit::Block, 1);
    ws->toggle(Unit::Block, 2); // supersedes the evaluation of block:1
    ASSERT_TRUE(waitIdle(w));
    ASSERT_TRUE(ws->latest().has_value());
    EXPECT_EQ(ws->latest()->mask.toSpec(), "block:1-2");
    EXPECT_EQ(ws->latest()->level, 1); // refined
    w.costPanel()->setAutoEvaluate(false);
}

TEST(WorkbenchSession, BadFolderGivesAReadableError) {
    MainWindow w;
    w.setInteractive(false);
    QSignalSpy errors(&w, &MainWindow::errorReported);
    QTemporaryDir dir;
    w.openModel(dir.path());
    ASSERT_EQ(errors.count(), 1);
    EXPECT_TRUE(errors.first().at(1).toString().contains(dir.path()));
    EXPECT_TRUE(errors.first().at(1).toString().contains("config.json"));

    // A config.json that does not parse: the core's message names the file.
    QFile config(dir.filePath("config.json"));
    ASSERT_TRUE(config.open(QIODevice::WriteOnly));
    config.write("{ not json");
    config.close();
    w.openModel(dir.path());
    ASSERT_TRUE(waitIdle(w, 60000));
    ASSERT_EQ(errors.count(), 2);
    EXPECT_TRUE(errors.last().at(1).toString().contains("config.json"))
        << errors.last().at(1).toString().toStdString();
    EXPECT_FALSE(w.workspace()->hasModel()); // the window stays usable
}

TEST(WorkbenchSession, DroppedFolderIsOpened) {
    MainWindow w;
    w.setInteractive(false);
    QSignalSpy errors(&w, &MainWindow::errorReported);
    QTemporaryDir dir; // not a model folder: the drop is taken, the error names it
    QMimeData mime;
    mime.setUrls({QUrl::fromLocalFile(dir.path())});
    QDragEnterEvent enter(QPoint(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&w, &enter);
    EXPECT_TRUE(enter.isAccepted());
    QDropEvent drop(QPointF(10, 10), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
    QCoreApplication::sendEvent(&w, &drop);
    ASSERT_EQ(errors.count(), 1);
    EXPECT_TRUE(errors.first().at(1).toString().contains(dir.path()));
}

TEST(WorkbenchSession, CancellingImportanceKeepsTheScoresItHad) {
    if (test::demoDir().isEmpty()) GTEST_SKIP() << "demo model not found";
    MainWindow w;
    w.setInteractive(false);
    w.openModel(test::demoDir(), test::device(), "f32");
    ASSERT_TRUE(waitIdle(w));
    useSmallSamples(w.workspace());
    w.computeImportance({{"cosine"}, 1, 8});
    ASSERT_TRUE(waitIdle(w));
    const auto before = w.workspace()->scores().values;

    QSignalSpy progressed(w.jobs(), &JobRunner::progressed);
    QSignalSpy cancelled(w.jobs(), &JobRunner::cancelled);
    QSignalSpy failed(w.jobs(), &JobRunner::failed);
    w.computeImportance({{"drop_loss"}, 1, 8}); // one pass per unit (30): stopped after the first
    ASSERT_TRUE(progressed.wait(60000));
    w.jobs()->cancelAll();
    ASSERT_TRUE(waitIdle(w, 60000));
    EXPECT_EQ(cancelled.count(), 1);
    EXPECT_EQ(failed.count(), 0);
    EXPECT_EQ(w.workspace()->scores().values, before); // drop_loss arrives whole or not at all
    EXPECT_TRUE(w.workspace()->hasModel());
}

TEST(WorkbenchSession, CurveRecoveryAndGeneration) {
    if (test::demoDir().isEmpty()) GTEST_SKIP() << "demo model not found";
    MainWindow w;
    w.setInteractive(false);
    QSignalSpy errors(&w, &MainWindow::errorReported);
    w.openModel(test::demoDir(), test::device(), "f32");
    ASSERT_TRUE(waitIdle(w));
    useSmallSamples(w.workspace());
    auto* ws = w.workspace();

    // drop_loss with the task-answer loss as the value function: stored as drop_task_loss
    w.computeImportance({{"drop_loss", "l2_update"}, 1, 8, "task_loss"});
    ASSERT_TRUE(waitIdle(w));
    ASSERT_EQ(errors.count(), 0) << errors.first().at(1).toString().toStdString();
    EXPECT_EQ(ws->scores().at("drop_task_loss", Unit::Attention).size(), 10u);
    EXPECT_EQ(ws->scores().at("l2_update", Unit::Ffn).size(), 10u);
    EXPECT_TRUE(ws->scores().at("drop_loss", Unit::Block).empty());

    // Pruning curve: cosine computed on the way (and handed to the layer map), l2_update from the map.
    PruningCurveRequest curve;
    curve.metrics = {"cosine", "l2_update"};
    curve.unit = Unit::Ffn;
    curve.maxUnits = 2;
    curve.tasks = true;
    w.runPruningCurve(curve);
    ASSERT_TRUE(waitIdle(w));
    ASSERT_EQ(errors.count(), 0) << errors.first().at(1).toString().toStdString();
    auto* points = w.curvePage()->model();
    ASSERT_EQ(points->rowCount(), 6);
    EXPECT_EQ(ws->scores().at("cosine", Unit::Ffn).size(), 10u);
    const auto ppl = points->series("cosine", PruningCurveModel::PerplexityColumn);
    ASSERT_EQ(ppl.size(), 3u);
    // k = 0 is the full model on the refined quick-evaluation sample
    w.evaluate();
    ASSERT_TRUE(waitIdle(w));
    ASSERT_TRUE(ws->baseline(1).has_value());
    EXPECT_NEAR(ppl[0].y(), ws->baseline(1)->perplexity, 1e-9);
    EXPECT_EQ(points->series("l2_update", PruningCurveModel::FirstTaskColumn).size(), 3u);
    EXPECT_EQ(points->points()[2].mask.removedUnits().size(), 2u);
    QTemporaryDir dir;
    ASSERT_EQ(saveWidgetImage(w.curvePage()->chartView(), dir.filePath("curve.png"), w.curvePage()->title()),
              QString());
    EXPECT_TRUE(readAll(dir.filePath("curve.png")).startsWith("\x89PNG"));

    // Recovery: a bias adapter for block 4, installed after the job, seen by the quick evaluation.
    ws->setMask(LayerMask::parse("block:4", 10));
    bool got = false;
    QObject::connect(ws, &Workspace::adaptersChanged, [&] { got = true; });
    w.recover({RecoveryMethod::Bias, 16, 1e-4, 8});
    ASSERT_TRUE(waitIdle(w));
    ASSERT_EQ(errors.count(), 0) << errors.first().at(1).toString().toStdString();
    EXPECT_TRUE(got);
    ASSERT_EQ(ws->adapterUnits().size(), 1u);
    EXPECT_EQ(ws->adapterUnits()[0], (UnitRef{Unit::Block, 4}));
    EXPECT_EQ(ws->model()->adapters().units.size(), 1u);
    auto* map = w.layerMap()->model();
    EXPECT_TRUE(map->index(4, LayerMapModel::BlockOnColumn).data(LayerMapModel::AdapterRole).toBool());
    EXPECT_FALSE(map->index(3, LayerMapModel::BlockOnColumn).data(LayerMapModel::AdapterRole).toBool());
    const auto text = w.recoveryPanel()->resultText();
    EXPECT_TRUE(text.contains("recovered: loss")) << text.toStdString();
    w.evaluate();
    ASSERT_TRUE(waitIdle(w));
    ASSERT_TRUE(ws->latest().has_value());
    EXPECT_EQ(ws->latest()->mask.toSpec(), "block:4");
    // the panel's "recovered" loss is the quick evaluation's on the same sample
    EXPECT_TRUE(text.contains(QString::number(ws->latest()->loss, 'f', 4))) << text.toStdString();
    EXPECT_LT(ws->latest()->loss, ws->baseline(1)->loss + 2.0);
    ASSERT_EQ(saveInstalledAdapters(*ws, dir.filePath("adapters.safetensors")), QString());
    EXPECT_GT(QFileInfo(dir.filePath("adapters.safetensors")).size(), 256 * 4);

    // Generation under the removal set (greedy: the same text every time).
    w.generate({"And God said", 8, 0, 1, 0});
    ASSERT_TRUE(waitIdle(w));
    ASSERT_EQ(errors.count(), 0) << errors.first().at(1).toString().toStdString();
    const auto out = w.generationPage()->output();
    EXPECT_TRUE(out.contains("removed: block:4")) << out.toStdString();
    EXPECT_TRUE(out.contains("And God said")) << out.toStdString();
    EXPECT_TRUE(out.contains(ws->model()->device().is_cuda() ? ", CUDA graph]" : ", step by step]"))
        << out.toStdString();
    EXPECT_EQ(w.generationPage()->results().back().decodeSteps,
              ws->model()->device().is_cuda() ? "cuda_graph" : "dynamic");

    w.removeAdapters();
    ASSERT_TRUE(waitIdle(w));
    EXPECT_TRUE(ws->adapterUnits().empty());
    EXPECT_TRUE(ws->model()->adapters().empty());

    // fold-linear: a map of block 3's FFN output, held as a correction of its down_proj.
    w.recover({RecoveryMethod::FoldLinear, 16, 1e-4, 8});
    ASSERT_TRUE(waitIdle(w));
    ASSERT_EQ(errors.count(), 0) << errors.first().at(1).toString().toStdString();
    ASSERT_EQ(ws->model()->adapters().lora.size(), 1u);
    EXPECT_EQ(ws->model()->adapters().lora[0].layer, 3);
    EXPECT_EQ(ws->model()->adapters().lora[0].projection, Projection::Down);
    EXPECT_TRUE(w.recoveryPanel()->resultText().contains("fold-linear"))
        << w.recoveryPanel()->resultText().toStdString();

    // File > Export report draws what `layerlab-cli report SESSION.layerlab` draws for the saved
    // session: the same sections, charts and tables; only the provenance names its source.
    {
        StallMeter meter;
        QSignalSpy written(w.reportController(), &ReportController::written);
        w.exportReport(dir.filePath("gui.html"));
        ASSERT_TRUE(written.wait(120000));
        std::printf("  longest GUI stall while the report was drawn: %lld ms\n",
                    static_cast<long long>(meter.maxGapMs()));
        EXPECT_LT(meter.maxGapMs(), 100) << "the GUI thread stalled while the report was drawn";
    }
    ASSERT_EQ(errors.count(), 0) << errors.first().at(1).toString().toStdString();
    ASSERT_EQ(w.saveSession(dir.filePath("study.layerlab")), QString());
    auto fromFile = reportFromFiles({dir.filePath("study.layerlab").toStdString()});
    ASSERT_EQ(writeHtmlReport(fromFile, dir.filePath("cli.html")), QString());
    const auto beforeProvenance = [](const QByteArray& html) {
        return html.left(html.indexOf("<section id=\"provenance\""));
    };
    const auto gui = readAll(dir.filePath("gui.html")), cli = readAll(dir.filePath("cli.html"));
    EXPECT_TRUE(gui.contains("<section id=\"pruning-curves\"")) << gui.left(2000).toStdString();
    EXPECT_TRUE(gui.contains("<section id=\"recovery\""));
    EXPECT_TRUE(gui.contains("<td>block:4</td><td>bias</td>"));
    EXPECT_TRUE(gui.contains("<td>block:4</td><td>fold-linear</td>"));
    // What the workbench showed: its layer map, the removal set's cost, the generated text.
    EXPECT_TRUE(gui.contains("<figure class=\"heatmap\" id=\"layer-map-heatmap\">"));
    EXPECT_EQ(gui.contains("<section id=\"cost\""), !ws->mask().empty());
    EXPECT_TRUE(gui.contains("<section id=\"generations\""));
    EXPECT_TRUE(gui.contains("<b>And God said</b>"));
    const auto a = beforeProvenance(gui), b = beforeProvenance(cli);
    qsizetype at = 0;
    while (at < a.size() && at < b.size() && a[at] == b[at])
        ++at;
    EXPECT_EQ(a.size(), b.size());
    EXPECT_EQ(at, a.size()) << "first difference:\n"
                            << a.mid(at - 200, 400).toStdString() << "\n---\n"
                            << b.mid(at - 200, 400).toStdString();
    EXPECT_TRUE(readAll(dir.filePath("gui.pdf")).startsWith("%PDF-"));

    w.removeAdapters();
    ASSERT_TRUE(waitIdle(w));
    EXPECT_TRUE(ws->model()->adapters().empty());
}

TEST(WorkbenchSession, TrainedRecoveryDrawsItsLossCurve) {
    if (test::demoDir().isEmpty()) GTEST_SKIP() << "demo model not found";
    MainWindow w;
    w.setInteractive(false);
    QSignalSpy errors(&w, &MainWindow::errorReported);
    w.openModel(test::demoDir(), test::device(), "f32");
    ASSERT_TRUE(waitIdle(w));
    useSmallSamples(w.workspace());
    auto* ws = w.workspace();
    ws->setMask(LayerMask::parse("attn:2,ffn:5", 10));
    RecoveryRequest r;
    r.method = RecoveryMethod::LearnedBias;
    r.steps = 12;
    r.learningRate = 3e-3;
    r.loraRank = 2;
    r.batchSize = 2;
    w.recover(r);
    ASSERT_TRUE(waitIdle(w));
    ASSERT_EQ(errors.count(), 0) << errors.first().at(1).toString().toStdString();
    auto* curve = w.recoveryPanel()->lossCurve();
    ASSERT_EQ(curve->rowCount(), 12);
    EXPECT_EQ(curve->index(11, LossCurveModel::StepColumn).data().toDouble(), 12.0);
    EXPECT_GT(curve->index(0, LossCurveModel::LossColumn).data().toDouble(), 0.0);
    EXPECT_EQ(ws->model()->adapters().units.size(), 2u);
    EXPECT_FALSE(ws->model()->adapters().lora.empty());
    EXPECT_TRUE(w.recoveryPanel()->resultText().contains("learned-bias+lora:2"))
        << w.recoveryPanel()->resultText().toStdString();
    QTemporaryDir dir;
    ASSERT_EQ(saveTableCsv(*curve, dir.filePath("curve.csv"), LossCurveModel::ValueRole), QString());
    const auto csv = readAll(dir.filePath("curve.csv"));
    EXPECT_TRUE(csv.startsWith("step,")) << csv.toStdString();
    EXPECT_EQ(csv.count('\n'), 13);
}

TEST(WorkbenchSession, SavedSessionsReopenWithScoresRemovalsEvaluationsAndAdapters) {
    if (test::demoDir().isEmpty()) GTEST_SKIP() << "demo model not found";
    QTemporaryDir dir;
    const QString path = dir.filePath("study.layerlab");
    ScoreTable scores;
    std::string removed;
    double baselineLoss = 0;
    torch::Tensor adapterBias;
    size_t adapterCount = 0;
    {
        MainWindow w;
        w.setInteractive(false);
        QSignalSpy errors(&w, &MainWindow::errorReported);
        EXPECT_NE(w.saveSession(path), QString()); // no model yet: nothing to save
        w.openModel(test::demoDir(), test::device(), "f32");
        ASSERT_TRUE(waitIdle(w));
        useSmallSamples(w.workspace());
        auto* ws = w.workspace();
        w.computeImportance({{"cosine"}, 1, 8});
        ASSERT_TRUE(waitIdle(w));
        ws->setMask(LayerMask::parse("attn:3,block:7", 10));
        w.recover({RecoveryMethod::Bias, 16, 1e-4, 8});
        ASSERT_TRUE(waitIdle(w));
        w.evaluate();
        ASSERT_TRUE(waitIdle(w));
        w.generate({"And God said", 4, 0, 1, 0});
        ASSERT_TRUE(waitIdle(w));
        ASSERT_EQ(errors.count(), 0) << errors.first().at(1).toString().toStdString();
        ASSERT_TRUE(ws->baseline(1).has_value());
        ASSERT_EQ(w.saveSession(path), QString());
        EXPECT_EQ(w.sessionPath(), path);
        scores = ws->scores();
        removed = ws->mask().toSpec();
        baselineLoss = ws->baseline(1)->loss;
        adapterCount = ws->model()->adapters().units.size();
        ASSERT_GT(adapterCount, 0u); // the guard keeps at least the helpful one on the demo model
        adapterBias = ws->model()->adapters().units.at(0).bias.clone();
    }
    EXPECT_TRUE(QFileInfo::exists(dir.filePath("study.adapters.safetensors")));

    MainWindow w;
    w.setInteractive(false);
    QSignalSpy errors(&w, &MainWindow::errorReported);
    w.openSession(path);
    ASSERT_TRUE(waitIdle(w));
    ASSERT_EQ(errors.count(), 0) << errors.first().at(1).toString().toStdString();
    auto* ws = w.workspace();
    EXPECT_EQ(ws->mask().toSpec(), removed);
    EXPECT_EQ(ws->scores().at("cosine", Unit::Ffn), scores.at("cosine", Unit::Ffn));
    ASSERT_TRUE(ws->baseline(1).has_value());
    EXPECT_DOUBLE_EQ(ws->baseline(1)->loss, baselineLoss);
    ASSERT_EQ(ws->model()->adapters().units.size(), adapterCount);
    bool same = false;
    for (const auto& a : ws->model()->adapters().units)
        same = same || torch::equal(a.bias, adapterBias);
    EXPECT_TRUE(same);
    EXPECT_FALSE(ws->adapterUnits().empty());
    EXPECT_TRUE(w.recoveryPanel()->resultText().contains("recovered"))
        << w.recoveryPanel()->resultText().toStdString();
    // The generated sample is shown again, under the removal set it was written under.
    ASSERT_EQ(w.generationPage()->results().size(), 1u);
    EXPECT_EQ(w.generationPage()->results()[0].mask.toSpec(), removed);
    EXPECT_TRUE(w.generationPage()->output().contains("And God said"));

    // A corrupt session is an error naming the file; the open model stays.
    QFile bad(dir.filePath("bad.layerlab"));
    ASSERT_TRUE(bad.open(QIODevice::WriteOnly));
    bad.write("{\"format\": \"layerlab-session\", \"version\": 1, \"model\": {\"dir\": ");
    bad.close();
    w.openSession(dir.filePath("bad.layerlab"));
    ASSERT_TRUE(waitIdle(w));
    ASSERT_EQ(errors.count(), 1);
    EXPECT_TRUE(errors.first().at(1).toString().contains("bad.layerlab"));
    EXPECT_EQ(ws->mask().toSpec(), removed);
}

TEST(WorkbenchSession, ExportsThePrunedModelWithAManifestPreview) {
    if (test::demoDir().isEmpty()) GTEST_SKIP() << "demo model not found";
    MainWindow w;
    w.setInteractive(false);
    QSignalSpy errors(&w, &MainWindow::errorReported);
    w.openModel(test::demoDir(), test::device(), "f32");
    ASSERT_TRUE(waitIdle(w));
    auto* ws = w.workspace();
    ws->setMask(LayerMask::parse("block:7-8", 10));
    QTemporaryDir dir;
    ExportSettings s;
    s.out = dir.filePath("demo-8-layers");
    s.shardSize = "20MB";
    const auto model = ws->model();
    const auto mask = ws->mask();
    ExportDialog dialog(
        [model, mask](const ExportSettings& x) { return exportManifestPreview(*model, mask, x); });
    dialog.setSettings(s);
    const auto preview = dialog.previewText();
    EXPECT_TRUE(preview.contains("\"removed\": \"block:7-8\"")) << preview.toStdString();
    EXPECT_TRUE(preview.contains("\"format\": \"hf\"")) << preview.toStdString();
    EXPECT_TRUE(preview.startsWith("Loads in:\n  transformers: yes")) << preview.toStdString();
    EXPECT_TRUE(preview.contains("vLLM: yes")) << preview.toStdString();
    EXPECT_FALSE(QFileInfo::exists(s.out)); // a preview writes nothing
    s.shardSize = "lots";
    dialog.setSettings(s);
    EXPECT_TRUE(dialog.previewText().startsWith("Cannot export")) << dialog.previewText().toStdString();

    s.shardSize = "20MB";
    w.exportModel(s);
    ASSERT_TRUE(waitIdle(w));
    ASSERT_EQ(errors.count(), 0) << errors.first().at(1).toString().toStdString();
    for (const char* f : {"config.json", "model.safetensors.index.json", "tokenizer.json", "layerlab.json"})
        EXPECT_TRUE(QFileInfo::exists(QDir(s.out).filePath(QString::fromLatin1(f)))) << f;
    const auto config = readAll(QDir(s.out).filePath("config.json"));
    EXPECT_TRUE(config.contains("\"num_hidden_layers\": 8")) << config.toStdString();
    // Again without "replace": refused, the export stays.
    w.exportModel(s);
    ASSERT_TRUE(waitIdle(w));
    ASSERT_EQ(errors.count(), 1);
    EXPECT_TRUE(QFileInfo::exists(QDir(s.out).filePath("layerlab.json")));
}
