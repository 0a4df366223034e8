// The report's sections about how much each unit matters: the layer map as a heatmap, importance
// per metric, whether the metrics agree, and importance for the task answers (layers x tasks).

#include "common/error.h"
#include "importance/rank_correlation.h"
#include "layer_map/importance_chart.h"
#include "report/report_html.h"
#include "report/report_sections.h"

#include <QChart>
#include <QObject>
#include <QScatterSeries>
#include <QValueAxis>

#include <cmath>

namespace layerlab::ui::report {

namespace {

// One metric's bars per layer, the workbench's importance chart.
ReportBlock importanceFigure(const ScoreTable& scores, int64_t layers, const QString& id,
                             const std::string& metric, const QString& title) {
    return {ReportFigure{id,
                         [&scores, layers, metric, title] {
                             return importanceBarChart(scores, metric, static_cast<int>(layers), title);
                         },
                         title},
            {},
            true};
}

bool unitRemoved(const LayerMask& mask, Unit u, int64_t layer) {
    return u == Unit::Block       ? !mask.layerActive(layer)
           : u == Unit::Attention ? !mask.attentionOn(layer)
                                  : !mask.ffnOn(layer);
}

QString heatmapFigure(const QString& id, const QString& tableHtml, const QString& caption) {
    return QStringLiteral("<figure class=\"heatmap\" id=\"%1\"><div class=\"scroll\">%2</div>"
                          "<figcaption>%3</figcaption></figure>")
        .arg(id, tableHtml, caption);
}

// An A4 page holds about 12 value columns; wider heatmaps are in the HTML only (the PDF has the
// same values as bar charts).
bool fitsThePdf(const std::vector<HeatmapColumn>& columns) {
    return columns.size() <= 12;
}

QChart* scatterChart(const ReportContent& c, const std::string& a, const std::string& b, Unit unit,
                     const QString& title) {
    auto* chart = new QChart;
    chart->setTitle(title);
    chart->legend()->setVisible(false);
    auto* points = new QScatterSeries;
    points->setMarkerSize(9);
    const auto &x = c.scores.at(a, unit), &y = c.scores.at(b, unit);
    for (size_t l = 0; l < x.size() && l < y.size(); ++l)
        if (std::isfinite(x[l]) && std::isfinite(y[l])) points->append(x[l], y[l]);
    chart->addSeries(points);
    chart->createDefaultAxes();
    chart->axes(Qt::Horizontal).front()->setTitleText(QString::fromStdString(a));
    chart->axes(Qt::Vertical).front()->setTitleText(QString::fromStdString(b));
    return chart;
}

} // namespace

// The workbench's layer map: a row per layer, a column per metric and granularity, coloured as the
// workbench colours it, with the session's removal set marked.
void layerMapSection(const ReportContent& c, std::vector<ReportSection>& out) {
    if (c.scores.empty() || c.layers < 1) return;
    LayerMask mask(c.layers);
    try {
        mask = LayerMask::parse(c.removed, c.layers);
    } catch (const Error&) { // a removal set for other layers: shown as text in the provenance only
    }
    std::vector<HeatmapColumn> columns;
    for (const auto& metric : orderedMetrics(c.scores))
        for (Unit u : {Unit::Block, Unit::Attention, Unit::Ffn}) {
            const auto& v = c.scores.at(metric, u);
            if (v.empty()) continue;
            HeatmapColumn column{
                esc(metric) + QStringLiteral("<br>") + QString::fromLatin1(unitName(u)), v, {}};
            for (int64_t l = 0; l < c.layers; ++l)
                column.removed.push_back(unitRemoved(mask, u, l));
            columns.push_back(std::move(column));
        }
    std::vector<QString> removed;
    for (int64_t l = 0; l < c.layers; ++l) {
        QStringList units;
        for (Unit u : {Unit::Block, Unit::Attention, Unit::Ffn})
            if (unitRemoved(mask, u, l) && (u == Unit::Block || mask.layerActive(l)))
                units << QString::fromLatin1(unitName(u));
        removed.push_back(units.join(QStringLiteral(", ")));
    }
    const QString caption =
        QObject::tr("Each column coloured on its own: light = least important, dark = most important "
                    "(far outliers take the end colours).") +
        (mask.empty() ? QString()
                      : QObject::tr(" Grey, struck through: removed in the removal set <code>%1</code>.")
                            .arg(esc(c.removed)));
    ReportSection s{QStringLiteral("layer-map"), QObject::tr("Layer map"), {}};
    s.blocks.push_back({std::nullopt,
                        heatmapFigure(QStringLiteral("layer-map-heatmap"),
                                      heatmapTable(QObject::tr("layer"), c.layers, columns,
                                                   mask.empty() ? QString() : QObject::tr("removed"),
                                                   mask.empty() ? std::vector<QString>() : removed),
                                      caption),
                        fitsThePdf(columns)});
    out.push_back(std::move(s));
}

void importanceSection(const ReportContent& c, std::vector<ReportSection>& out) {
    if (c.scores.empty()) return;
    ReportSection s{QStringLiteral("importance"), QObject::tr("Importance of blocks, attention and FFN"), {}};
    for (const auto& metric : orderedMetrics(c.scores)) {
        const auto title = QObject::tr("Importance per layer: %1 (higher = more important)").arg(esc(metric));
        s.blocks.push_back(importanceFigure(c.scores, c.layers,
                                            QStringLiteral("importance-") + idPart(metric), metric, title));
    }
    // Every value, for readers who want the numbers behind the bars.
    QStringList header{QObject::tr("layer")};
    std::vector<const std::vector<double>*> columns;
    for (const auto& metric : orderedMetrics(c.scores))
        for (Unit u : {Unit::Block, Unit::Attention, Unit::Ffn}) {
            const auto& v = c.scores.at(metric, u);
            if (v.empty()) continue;
            header << esc(metric) + QLatin1Char(' ') + QString::fromLatin1(unitName(u));
            columns.push_back(&v);
        }
    std::vector<QStringList> rows;
    for (int64_t l = 0; l < c.layers; ++l) {
        QStringList r{QString::number(l)};
        for (const auto* v : columns)
            r << (l < static_cast<int64_t>(v->size()) ? num((*v)[l], 6) : QString());
        rows.push_back(r);
    }
    s.blocks.push_back({std::nullopt,
                        QStringLiteral("<details><summary>%1</summary>%2</details>")
                            .arg(QObject::tr("All scores per layer"), table(header, rows)),
                        false});
    s.blocks.push_back(commandsOf(c, {"importance", "session"}));
    out.push_back(std::move(s));
}

// Do two metrics order the units alike? Spearman's rho and Kendall's tau-b per granularity, and
// the block scores of each pair as a scatter plot (the workbench's "Metric vs metric" tab).
void agreementSection(const ReportContent& c, std::vector<ReportSection>& out) {
    ReportSection s{QStringLiteral("metric-agreement"), QObject::tr("Metric vs metric: do they agree?"), {}};
    std::vector<QStringList> rows;
    const auto metrics = orderedMetrics(c.scores);
    for (Unit u : {Unit::Block, Unit::Attention, Unit::Ffn})
        for (size_t i = 0; i < metrics.size(); ++i)
            for (size_t j = i + 1; j < metrics.size(); ++j) {
                const auto &a = c.scores.at(metrics[i], u), &b = c.scores.at(metrics[j], u);
                if (a.size() < 2 || a.size() != b.size()) continue; // angular has L - n + 1 runs
                rows.push_back({QString::fromLatin1(unitName(u)), esc(metrics[i]), esc(metrics[j]),
                                num(spearmanCorrelation(a, b), 3), num(kendallTau(a, b), 3)});
                if (u == Unit::Block && s.blocks.size() < 6) {
                    const auto title =
                        QObject::tr("Blocks: %1 against %2").arg(esc(metrics[j]), esc(metrics[i]));
                    s.blocks.push_back(
                        {ReportFigure{
                             QStringLiteral("scatter-%1-%2").arg(idPart(metrics[i]), idPart(metrics[j])),
                             [&c, a = metrics[i], b = metrics[j], title] {
                                 return scatterChart(c, a, b, Unit::Block, title);
                             },
                             title},
                         {},
                         true});
                }
            }
    if (rows.empty()) return;
    s.blocks.push_back({std::nullopt,
                        table({QObject::tr("granularity"), QObject::tr("metric"), QObject::tr("metric"),
                               QObject::tr("Spearman's rho"), QObject::tr("Kendall's tau-b")},
                              rows),
                        true});
    out.push_back(std::move(s));
}

// Importance for the right answers of multiple-choice tasks (task_loss): per metric a heatmap of
// layers x tasks (the paper's per-task Shapley figure); with one task also its bar chart.
void taskSection(const ReportContent& c, std::vector<ReportSection>& out) {
    if (c.taskScores.empty()) return;
    ScoreTable all; // every task's metric names, for their display order
    for (const auto& [task, scores] : c.taskScores)
        for (const auto& [metric, perUnit] : scores.values)
            all.values[metric];
    ReportSection s{QStringLiteral("task-importance"), QObject::tr("Importance for the task answers"), {}};
    for (const auto& metric : orderedMetrics(all)) {
        std::vector<HeatmapColumn> columns;
        for (Unit u : {Unit::Block, Unit::Attention, Unit::Ffn})
            for (const auto& [task, scores] : c.taskScores)
                if (const auto& v = scores.at(metric, u); !v.empty())
                    columns.push_back(
                        {esc(task) + QStringLiteral("<br>") + QString::fromLatin1(unitName(u)), v, {}});
        if (columns.empty()) continue;
        s.blocks.push_back(
            {std::nullopt,
             heatmapFigure(QStringLiteral("task-heatmap-") + idPart(metric),
                           heatmapTable(QObject::tr("layer"), c.layers, columns),
                           QObject::tr("%1: layers x tasks, the loss on each task's right answers. Each "
                                       "column coloured on its own: light = least important, dark = most.")
                               .arg(esc(metric))),
             fitsThePdf(columns)});
        if (c.taskScores.size() == 1) {
            const auto& [task, scores] = *c.taskScores.begin();
            const auto title = QObject::tr("%1 per layer for %2 (loss on the task's right answers)")
                                   .arg(esc(metric), esc(task));
            s.blocks.push_back(
                importanceFigure(scores, c.layers, QStringLiteral("task-") + idPart(metric), metric, title));
        }
    }
    if (s.blocks.empty()) return;
    s.blocks.push_back(commandsOf(c, {"task importance"}));
    out.push_back(std::move(s));
}

} // namespace layerlab::ui::report
