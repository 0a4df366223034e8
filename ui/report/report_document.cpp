#include "report/report_document.h"

#include "common/error.h"
#include "curve/line_chart.h"
#include "curve/pruning_curve_model.h"
#include "curve/pruning_curve_page.h"
#include "export/report_export.h"
#include "importance/rank_correlation.h"
#include "layer_map/importance_chart.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QCoreApplication>
#include <QPainter>
#include <QPdfWriter>
#include <QSaveFile>
#include <QScatterSeries>
#include <QTextDocument>
#include <QValueAxis>

#include <algorithm>
#include <map>
#include <set>

namespace layerlab::ui {

namespace {

constexpr QSize kChartSize(900, 420);

QString esc(const std::string& s) {
    return QString::fromStdString(s).toHtmlEscaped();
}

QString num(double v, int digits = 4) {
    return QString::number(v, 'g', digits);
}

QString unitLabel(Unit u) {
    return u == Unit::Block       ? QStringLiteral("blocks")
           : u == Unit::Attention ? QStringLiteral("attention")
                                  : QStringLiteral("FFN");
}

// An HTML id from a metric name out of an input file: letters, digits, '_' and '-' only.
QString idPart(const std::string& name) {
    QString id;
    for (const QChar ch : QString::fromStdString(name))
        id += ch.isLetterOrNumber() && ch.unicode() < 128 ? ch : QLatin1Char('_');
    return id;
}

QString table(const QStringList& header, const std::vector<QStringList>& rows) {
    QString html = QStringLiteral("<table><tr>");
    for (const auto& h : header)
        html += QStringLiteral("<th>%1</th>").arg(h);
    html += QStringLiteral("</tr>");
    for (const auto& r : rows) {
        html += QStringLiteral("<tr>");
        for (const auto& cell : r)
            html += QStringLiteral("<td>%1</td>").arg(cell);
        html += QStringLiteral("</tr>");
    }
    return html + QStringLiteral("</table>");
}

ReportBlock paragraph(const QString& html) {
    return {std::nullopt, QStringLiteral("<p>") + html + QStringLiteral("</p>"), true};
}

// The command lines of the inputs of one kind, as a code block.
ReportBlock commandsOf(const ReportContent& c, const std::set<std::string>& kinds) {
    QString html;
    for (const auto& s : c.sources)
        if (kinds.count(s.kind) && !s.command.empty()) html += esc(s.command) + QLatin1Char('\n');
    if (html.isEmpty()) return {std::nullopt, {}, false};
    return {std::nullopt,
            QStringLiteral("<p class=\"how\">Made by:</p><pre>") + html + QStringLiteral("</pre>"), true};
}

// One metric's bars per layer, the workbench's importance chart.
ReportBlock importanceFigure(const ReportContent& c, const QString& idPrefix, const std::string& metric,
                             const QString& title) {
    return {ReportFigure{idPrefix + idPart(metric),
                         [&c, metric, title] {
                             return importanceBarChart(c.scores, metric, static_cast<int>(c.layers), title);
                         },
                         title},
            {},
            true};
}

void importanceSection(const ReportContent& c, std::vector<ReportSection>& out) {
    ReportSection s{QStringLiteral("importance"), QObject::tr("Importance of blocks, attention and FFN"), {}};
    for (const auto& metric : orderedMetrics(c.scores)) {
        if (metric.find("task_loss") != std::string::npos) continue; // its own section
        const auto title = QObject::tr("Importance per layer: %1 (higher = more important)").arg(esc(metric));
        s.blocks.push_back(importanceFigure(c, QStringLiteral("importance-"), metric, title));
    }
    if (c.scores.empty()) return;
    // Every value, for readers who want the numbers behind the bars.
    QStringList header{QObject::tr("layer")};
    std::vector<std::pair<const std::vector<double>*, int>> columns;
    for (const auto& metric : orderedMetrics(c.scores))
        for (Unit u : {Unit::Block, Unit::Attention, Unit::Ffn}) {
            const auto& v = c.scores.at(metric, u);
            if (v.empty()) continue;
            header << esc(metric) + QLatin1Char(' ') + QString::fromLatin1(unitName(u));
            columns.emplace_back(&v, 0);
        }
    std::vector<QStringList> rows;
    for (int64_t l = 0; l < c.layers; ++l) {
        QStringList r{QString::number(l)};
        for (const auto& [v, unused] : columns)
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

// A log scale labels only powers of ten: it pays once the perplexities span one.
bool spansADecade(const ReportContent& c, Unit unit) {
    double lo = 0, hi = 0;
    for (const auto& p : c.curves)
        if (p.unit == unit && p.hasLoss && p.perplexity > 0) {
            lo = lo > 0 ? std::min(lo, p.perplexity) : p.perplexity;
            hi = std::max(hi, p.perplexity);
        }
    return lo > 0 && hi / lo > 10;
}

PruningCurveModel* curveModel(const ReportContent& c, Unit unit, QObject* parent) {
    auto* model = new PruningCurveModel(parent);
    for (const auto& p : c.curves) {
        if (p.unit != unit) continue;
        PruningCurvePoint point;
        point.metric = p.metric;
        point.unit = p.unit;
        point.unitsRemoved = p.unitsRemoved;
        try {
            point.mask = LayerMask::parse(p.removed, c.layers);
        } catch (const Error&) { // a spec beyond the layers known here: the chart does not need it
        }
        point.evaluation.hasLoss = p.hasLoss;
        point.evaluation.loss = p.loss;
        point.evaluation.perplexity = p.perplexity;
        model->addPoint(point);
    }
    return model;
}

QChart* equalSavingsChart(const ReportContent& c, const std::string& metric, const QString& title) {
    std::vector<ChartLine> lines;
    double lo = 0, hi = 0;
    for (Unit u : {Unit::Block, Unit::Attention, Unit::Ffn}) {
        std::vector<QPointF> points;
        for (const auto& p : c.curves)
            if (p.metric == metric && p.unit == u && p.hasLoss && p.perplexity > 0) {
                points.emplace_back(100 * p.parameterFraction, p.perplexity);
                lo = lo > 0 ? std::min(lo, p.perplexity) : p.perplexity;
                hi = std::max(hi, p.perplexity);
            }
        std::sort(points.begin(), points.end(),
                  [](const QPointF& a, const QPointF& b) { return a.x() < b.x(); });
        if (!points.empty()) lines.push_back({unitLabel(u), points});
    }
    return lineChart(title, lines,
                     {QObject::tr("parameters removed (%)"),
                      QObject::tr("perplexity"),
                      false,
                      lo > 0 && hi / lo > 10,
                      {}});
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
        points->append(x[l], y[l]);
    chart->addSeries(points);
    chart->createDefaultAxes();
    chart->axes(Qt::Horizontal).front()->setTitleText(QString::fromStdString(a));
    chart->axes(Qt::Vertical).front()->setTitleText(QString::fromStdString(b));
    return chart;
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

void curveSections(const ReportContent& c, std::vector<ReportSection>& out) {
    if (c.curves.empty()) return;
    ReportSection s{QStringLiteral("pruning-curves"), QObject::tr("Pruning curves"), {}};
    s.blocks.push_back(paragraph(QObject::tr("Perplexity after removing the k least important units of one "
                                             "granularity, by each metric's ranking.")));
    std::map<std::string, std::set<Unit>> unitsOf;
    for (const auto& p : c.curves)
        unitsOf[p.metric].insert(p.unit);
    for (Unit u : {Unit::Block, Unit::Attention, Unit::Ffn}) {
        if (std::none_of(c.curves.begin(), c.curves.end(), [u](const auto& p) { return p.unit == u; }))
            continue;
        const auto title = QObject::tr("Pruning curve: %1").arg(unitLabel(u));
        s.blocks.push_back({ReportFigure{QStringLiteral("curve-") + QString::fromLatin1(unitName(u)),
                                         [&c, u, title] {
                                             QObject owner;
                                             auto* model = curveModel(c, u, &owner);
                                             return pruningCurveChart(*model,
                                                                      PruningCurveModel::PerplexityColumn,
                                                                      spansADecade(c, u), title);
                                         },
                                         title},
                            {},
                            true});
    }
    std::vector<QStringList> rows;
    for (const auto& p : c.curves)
        rows.push_back({esc(p.metric), QString::fromLatin1(unitName(p.unit)), QString::number(p.unitsRemoved),
                        esc(p.removed), num(100 * p.parameterFraction, 3), num(p.loss, 6),
                        num(p.perplexity, 6)});
    s.blocks.push_back(
        {std::nullopt,
         table({QObject::tr("metric"), QObject::tr("granularity"), QObject::tr("units removed"),
                QObject::tr("removed"), QObject::tr("parameters removed (%)"), QObject::tr("loss"),
                QObject::tr("perplexity")},
               rows),
         true});
    s.blocks.push_back(commandsOf(c, {"sweep"}));
    out.push_back(std::move(s));

    ReportSection eq{QStringLiteral("equal-savings"),
                     QObject::tr("Attention-only vs FFN-only vs block removal at equal parameter savings"),
                     {}};
    for (const auto& [metric, units] : unitsOf) {
        if (units.size() < 2) continue;
        const auto title = QObject::tr("%1: perplexity against parameters removed").arg(esc(metric));
        eq.blocks.push_back(
            {ReportFigure{QStringLiteral("equal-savings-") + idPart(metric),
                          [&c, metric, title] { return equalSavingsChart(c, metric, title); }, title},
             {},
             true});
    }
    if (!eq.blocks.empty()) out.push_back(std::move(eq));
}

void taskSection(const ReportContent& c, std::vector<ReportSection>& out) {
    ReportSection s{QStringLiteral("task-importance"), QObject::tr("Importance for the task answers"), {}};
    for (const auto& metric : orderedMetrics(c.scores)) {
        if (metric.find("task_loss") == std::string::npos) continue;
        const auto title = QObject::tr("%1 per layer (loss on the task's right answers)").arg(esc(metric));
        s.blocks.push_back(importanceFigure(c, QStringLiteral("task-"), metric, title));
    }
    if (!s.blocks.empty()) out.push_back(std::move(s));
}

QChart* recoveryChart(const ReportContent& c, const QString& title) {
    auto* chart = new QChart;
    chart->setTitle(title);
    chart->legend()->setVisible(false);
    auto* set = new QBarSet(QObject::tr("perplexity"));
    auto* x = new QBarCategoryAxis;
    std::set<std::string> shown;
    double hi = 1;
    std::map<QString, int> uses; // the category axis keeps one bar per label
    auto add = [&](const QString& label, double v) {
        const int n = ++uses[label];
        *set << v;
        x->append(n == 1 ? label : QStringLiteral("%1 (%2)").arg(label).arg(n));
        hi = std::max(hi, v);
    };
    std::set<std::string> sets;
    for (const auto& r : c.recoveries)
        sets.insert(r.removed);
    const size_t removalSets = sets.size();
    if (removalSets == 1) chart->setTitle(title + QObject::tr(" (removed %1)").arg(esc(*sets.begin())));
    for (const auto& r : c.recoveries) {
        if (shown.insert(r.removed).second) {
            if (shown.size() == 1) add(QObject::tr("full model"), r.fullPerplexity);
            // One removal set (the usual study): its name is in the title, the label stays short.
            add(removalSets == 1 ? QObject::tr("removed") : QObject::tr("removed %1").arg(esc(r.removed)),
                r.removedPerplexity);
        }
        add(QString::fromStdString(r.method), r.recoveredPerplexity);
    }
    auto* series = new QBarSeries;
    series->append(set);
    series->setLabelsVisible(true);
    series->setLabelsFormat(QStringLiteral("@value"));
    chart->addSeries(series);
    auto* y = new QValueAxis;
    y->setTitleText(QObject::tr("perplexity"));
    y->setRange(0, hi * 1.1);
    y->applyNiceNumbers();
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    series->attachAxis(x);
    series->attachAxis(y);
    return chart;
}

void recoverySection(const ReportContent& c, std::vector<ReportSection>& out) {
    if (c.recoveries.empty()) return;
    ReportSection s{QStringLiteral("recovery"), QObject::tr("Recovery"), {}};
    const auto title = QObject::tr("Perplexity: full model, removal set, and each adapter method");
    s.blocks.push_back(
        {ReportFigure{QStringLiteral("recovery"), [&c, title] { return recoveryChart(c, title); }, title},
         {},
         true});
    std::vector<QStringList> rows;
    for (const auto& r : c.recoveries)
        rows.push_back({esc(r.removed), esc(r.method), num(r.fullPerplexity, 6), num(r.removedPerplexity, 6),
                        num(r.recoveredPerplexity, 6), num(r.recoveredLoss - r.removedLoss, 4)});
    s.blocks.push_back({std::nullopt,
                        table({QObject::tr("removed"), QObject::tr("method"), QObject::tr("full"),
                               QObject::tr("removed"), QObject::tr("recovered"), QObject::tr("loss change")},
                              rows),
                        true});
    s.blocks.push_back(commandsOf(c, {"recover"}));
    out.push_back(std::move(s));
}

void evaluationSection(const ReportContent& c, std::vector<ReportSection>& out) {
    if (c.evaluations.empty()) return;
    ReportSection s{QStringLiteral("evaluations"), QObject::tr("Evaluations"), {}};
    std::vector<QStringList> rows;
    for (const auto& e : c.evaluations) {
        QStringList tasks;
        for (const auto& t : e.tasks)
            tasks << QStringLiteral("%1: acc %2, acc_norm %3 (%4 items)")
                         .arg(esc(t.task), num(t.acc, 4), num(t.accNorm, 4), QString::number(t.items));
        rows.push_back({esc(e.label), e.removed.empty() ? QObject::tr("nothing") : esc(e.removed),
                        e.hasLoss ? num(e.loss, 6) : QString(), e.hasLoss ? num(e.perplexity, 6) : QString(),
                        tasks.join(QStringLiteral("<br>"))});
    }
    s.blocks.push_back({std::nullopt,
                        table({QObject::tr("evaluation"), QObject::tr("removed"), QObject::tr("loss"),
                               QObject::tr("perplexity"), QObject::tr("tasks")},
                              rows),
                        true});
    s.blocks.push_back(commandsOf(c, {"eval"}));
    out.push_back(std::move(s));
}

void exportSection(const ReportContent& c, std::vector<ReportSection>& out) {
    const auto& m = c.exportManifest;
    if (!m.is_object()) return;
    ReportSection s{QStringLiteral("export"), QObject::tr("Export"), {}};
    const auto field = [](const nlohmann::json& j, const char* key) {
        const auto it = j.find(key);
        return it != j.end() && it->is_string() ? esc(it->get<std::string>()) : QString();
    };
    const auto layers = m.find("layers");
    s.blocks.push_back(
        paragraph(QObject::tr("Format <b>%1</b>, %2 layers, removed %3.")
                      .arg(field(m, "format"),
                           QString::number(layers != m.end() && layers->is_array() ? layers->size() : 0),
                           field(m, "removed"))));
    std::vector<QStringList> rows;
    if (const auto runtimes = m.find("runtimes"); runtimes != m.end() && runtimes->is_array())
        for (const auto& r : *runtimes)
            if (r.is_object()) rows.push_back({field(r, "runtime"), field(r, "loads"), field(r, "detail")});
    if (!rows.empty())
        s.blocks.push_back({std::nullopt,
                            table({QObject::tr("runtime"), QObject::tr("loads"), QObject::tr("why")}, rows),
                            true});
    s.blocks.push_back(commandsOf(c, {"export"}));
    out.push_back(std::move(s));
}

void provenanceSection(const ReportContent& c, std::vector<ReportSection>& out) {
    ReportSection s{QStringLiteral("provenance"), QObject::tr("Provenance"), {}};
    s.blocks.push_back(paragraph(QObject::tr("Model folder <code>%1</code>; %2 layers; device %3, dtype %4. "
                                             "Made by LayerLab %5 on %6.")
                                     .arg(esc(c.modelDir.string()), QString::number(c.layers),
                                          esc(c.device.empty() ? "not recorded" : c.device),
                                          esc(c.dtype.empty() ? "not recorded" : c.dtype),
                                          esc(c.layerlabVersion), esc(c.created))));
    if (!c.removed.empty())
        s.blocks.push_back(paragraph(QObject::tr("Removal set: <code>%1</code>.").arg(esc(c.removed))));
    std::vector<QStringList> files;
    for (const auto& f : c.modelFiles)
        files.push_back(
            {esc(f.name), QString::number(f.bytes), QStringLiteral("<code>%1</code>").arg(esc(f.sha256))});
    if (!files.empty())
        s.blocks.push_back(
            {std::nullopt,
             table({QObject::tr("model file"), QObject::tr("bytes"), QStringLiteral("SHA-256")}, files),
             true});
    std::vector<QStringList> inputs;
    for (const auto& src : c.sources)
        inputs.push_back({esc(src.file), esc(src.kind),
                          src.command.empty() ? (src.kind == "session" ? QObject::tr("the workbench")
                                                                       : QObject::tr("not recorded"))
                                              : QStringLiteral("<code>%1</code>").arg(esc(src.command)),
                          QStringLiteral("<pre>%1</pre>").arg(esc(src.settings.dump(1)))});
    s.blocks.push_back({std::nullopt,
                        table({QObject::tr("input"), QObject::tr("kind"), QObject::tr("command"),
                               QObject::tr("options, data, device")},
                              inputs),
                        true});
    out.push_back(std::move(s));
}

// The chart drawn by a view of the given size that is never shown on a screen.
class OffscreenChart {
public:
    explicit OffscreenChart(const ReportFigure& figure) {
        view_.setAttribute(Qt::WA_DontShowOnScreen);
        view_.setRenderHint(QPainter::Antialiasing);
        view_.setChart(figure.make());
        view_.resize(kChartSize);
        view_.show();
        QCoreApplication::processEvents();
    }
    ~OffscreenChart() { delete view_.chart(); }
    QChartView& view() { return view_; }

private:
    QChartView view_;
};

const char* kStyle = R"css(
body { font-family: "DejaVu Sans", Arial, sans-serif; max-width: 960px; margin: 2em auto; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
figure { margin: 1em 0; } figure svg { width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .9em; color: #555; }
table { border-collapse: collapse; font-size: .85em; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .2em .5em; text-align: left; vertical-align: top; }
pre { background: #f6f6f6; padding: .5em; overflow-x: auto; font-size: .8em; white-space: pre-wrap; }
p.how { margin-bottom: 0; font-size: .9em; color: #555; }
)css";

} // namespace

std::vector<ReportSection> reportSections(const ReportContent& c) {
    std::vector<ReportSection> out;
    importanceSection(c, out);
    agreementSection(c, out);
    curveSections(c, out);
    taskSection(c, out);
    recoverySection(c, out);
    evaluationSection(c, out);
    exportSection(c, out);
    provenanceSection(c, out);
    for (auto& s : out)
        std::erase_if(s.blocks, [](const ReportBlock& b) { return !b.figure && b.html.isEmpty(); });
    return out;
}

QString writeHtmlReport(const ReportContent& c, const QString& path) {
    const auto sections = reportSections(c);
    QString html =
        QStringLiteral("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%1</title>"
                       "<style>%2</style></head><body>\n<h1>%1</h1>\n<nav><ul>")
            .arg(esc(c.title), QString::fromLatin1(kStyle));
    for (const auto& s : sections)
        html += QStringLiteral("<li><a href=\"#%1\">%2</a></li>").arg(s.id, s.title);
    html += QStringLiteral("</ul></nav>\n");
    for (const auto& s : sections) {
        html += QStringLiteral("<section id=\"%1\"><h2>%2</h2>\n").arg(s.id, s.title);
        for (const auto& b : s.blocks) {
            if (b.figure) {
                OffscreenChart chart(*b.figure);
                QByteArray svg = widgetSvg(&chart.view(), b.figure->caption);
                // Inline: the XML prolog stays out of the HTML.
                if (const auto start = svg.indexOf("<svg"); start > 0) svg.remove(0, start);
                html += QStringLiteral("<figure class=\"chart\" id=\"%1\">").arg(b.figure->id) +
                        QString::fromUtf8(svg) +
                        QStringLiteral("<figcaption>%1</figcaption></figure>\n").arg(b.figure->caption);
            } else {
                html += b.html + QLatin1Char('\n');
            }
        }
        html += QStringLiteral("</section>\n");
    }
    html += QStringLiteral("</body></html>\n");
    return saveText(path, html.toUtf8());
}

QString writePdfReport(const ReportContent& c, const QString& path) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) return QObject::tr("%1: %2").arg(path, file.errorString());
    {
        QPdfWriter pdf(&file);
        pdf.setResolution(96); // one chart pixel = one PDF pixel at 96 dpi
        pdf.setPageSize(QPageSize(QPageSize::A4));
        pdf.setPageMargins(QMarginsF(15, 15, 15, 15), QPageLayout::Millimeter);
        pdf.setTitle(QString::fromStdString(c.title));
        pdf.setCreator(QStringLiteral("LayerLab"));
        QPainter painter;
        if (!painter.begin(&pdf)) return QObject::tr("%1: cannot start the PDF writer").arg(path);
        const QRect page = pdf.pageLayout().paintRectPixels(pdf.resolution());
        const double width = page.width();
        double y = 0;
        auto place = [&](double height) { // a new page when the block does not fit on this one
            if (y > 0 && y + height > page.height()) {
                pdf.newPage();
                y = 0;
            }
        };
        auto drawHtml = [&](const QString& html) {
            QTextDocument doc;
            doc.setDefaultStyleSheet(
                QStringLiteral("table { border-collapse: collapse; } th, td { padding: 2px; }"));
            doc.setHtml(html);
            doc.setTextWidth(width);
            const double h = doc.size().height();
            if (h <= page.height()) place(h);
            // A block taller than a page (a long table) goes on in page-high slices.
            for (double top = 0; top < h;) {
                if (y >= page.height() - 1) {
                    pdf.newPage();
                    y = 0;
                }
                const double slice = std::min(h - top, page.height() - y);
                painter.save();
                painter.translate(0, y - top);
                doc.drawContents(&painter, QRectF(0, top, width, slice));
                painter.restore();
                top += slice;
                y += slice;
            }
        };
        drawHtml(QStringLiteral("<h1>%1</h1>").arg(esc(c.title)));
        for (const auto& s : reportSections(c)) {
            drawHtml(QStringLiteral("<h2>%1</h2>").arg(s.title));
            for (const auto& b : s.blocks) {
                if (!b.inPdf) continue;
                if (!b.figure) {
                    drawHtml(b.html);
                    continue;
                }
                OffscreenChart chart(*b.figure);
                const double h = width * kChartSize.height() / kChartSize.width();
                place(h);
                chart.view().render(&painter, QRectF(0, y, width, h));
                y += h + 8;
            }
        }
        painter.end();
    }
    if (!file.commit()) return QObject::tr("%1: %2").arg(path, file.errorString());
    return {};
}

} // namespace layerlab::ui
