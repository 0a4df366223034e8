#pragma once
// A bar chart of one metric per layer, one series per granularity (block, attention, FFN), with a
// title and labelled axes so it can go into a report as it is. Shapley's standard errors are
// drawn as whiskers on the bars.

#include <QWidget>

#include <string>

#include "workspace/score_table.h"

class QComboBox;
class QChart;
class QChartView;

namespace layerlab::ui {

class Workspace;

// Layers labelled on the chart's axis: every one up to kLabelEveryLayerUpTo layers, else every 2nd
// up to 40 layers (Llama-2-7B's 32 did not fit at 1600 px), every 5th up to 100, every 10th beyond.
constexpr int kLabelEveryLayerUpTo = 16;
int layerLabelStep(int layers);

// One metric per layer as grouped bars (block, attn, ffn where computed) with standard-error
// whiskers: the workbench's chart and the report's figures.
QChart* importanceBarChart(const ScoreTable& table, const std::string& metric, int layers,
                           const QString& title);

class ImportanceChart : public QWidget {
    Q_OBJECT
public:
    explicit ImportanceChart(Workspace* workspace, QWidget* parent = nullptr);

    QString metric() const;
    void setMetric(const QString& metric);
    QChartView* chartView() const { return view_; }
    QString title() const;
    // layer,block,attn,ffn (+ stderr columns where the metric has them).
    QString saveCsv(const QString& path) const;

private:
    void refreshMetrics();
    void rebuild();

    Workspace* workspace_;
    QComboBox* metric_;
    QChartView* view_;
};

} // namespace layerlab::ui
