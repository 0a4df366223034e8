// The report's sections about what removal does: pruning curves and equal savings, the cost of
// the removal set, recovery, evaluations, generation samples, the export, and the provenance.

#include "common/error.h"
#include "cost/cost_model.h"
#include "curve/line_chart.h"
#include "curve/pruning_curve_model.h"
#include "curve/pruning_curve_page.h"
#include "report/report_html.h"
#include "report/report_sections.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QLocale>
#include <QObject>
#include <QValueAxis>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace layerlab::ui::report {

ReportBlock paragraph(const QString& html) {
    return {std::nullopt, paragraphHtml(html), true};
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

namespace {

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

} // namespace

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

namespace {

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

// The evaluation of the full model to set beside `pruned`: the workbench's at the same sample
// level, or (both -1) the last eval report without a removal set.
const ReportEvaluation* fullModelFor(const ReportContent& c, const ReportEvaluation& pruned) {
    const ReportEvaluation* found = nullptr;
    for (const auto& e : c.evaluations)
        if (e.removed.empty() && e.level == pruned.level && (e.hasLoss || !e.tasks.empty())) found = &e;
    return found;
}

const ReportEvaluation* evaluationOf(const ReportContent& c, const std::string& removed) {
    const ReportEvaluation* found = nullptr;
    for (const auto& e : c.evaluations)
        if (e.removed == removed && (e.hasLoss || !e.tasks.empty()) && (!found || e.level >= found->level))
            found = &e;
    return found;
}

QString signedText(const QString& magnitude, double v) {
    return (v > 0 ? QStringLiteral("+") : v < 0 ? QStringLiteral("-") : QString()) + magnitude;
}

} // namespace

// What each removal set saves (exact, from the parameter counts) beside what it costs in quality:
// the workbench's cost panel.
void costSection(const ReportContent& c, std::vector<ReportSection>& out) {
    ReportSection s{QStringLiteral("cost"), QObject::tr("Cost of the removal set"), {}};
    for (const auto& r : c.costs) {
        if (r.removed.empty()) continue;
        std::vector<QStringList> rows;
        const double params = r.parametersTotal - r.parametersRemoved;
        rows.push_back(
            {QObject::tr("parameters"), QLocale::c().toString(r.parametersTotal, 'f', 0),
             QLocale::c().toString(params, 'f', 0),
             signedText(QLocale::c().toString(r.parametersRemoved, 'f', 0), -r.parametersRemoved) +
                 QStringLiteral(" (%1 %)").arg(
                     num(r.parametersTotal > 0 ? -100 * r.parametersRemoved / r.parametersTotal : 0, 3))});
        rows.push_back({QObject::tr("KV cache per token"), byteQuantity(r.kvBytesPerToken),
                        byteQuantity(r.kvBytesPerToken - r.kvBytesPerTokenSaved),
                        signedText(byteQuantity(r.kvBytesPerTokenSaved), -r.kvBytesPerTokenSaved)});
        rows.push_back({QObject::tr("FLOPs per token"), scaledQuantity(r.flopsPerToken),
                        scaledQuantity(r.flopsPerToken - r.flopsPerTokenSaved),
                        signedText(scaledQuantity(r.flopsPerTokenSaved), -r.flopsPerTokenSaved)});
        if (const auto* pruned = evaluationOf(c, r.removed)) {
            const auto* full = fullModelFor(c, *pruned);
            auto quality = [&](const QString& name, double f, double p, bool known, int digits) {
                if (!known) return;
                const bool both = full && full->hasLoss;
                rows.push_back({name, both ? num(f, digits) : QString(), num(p, digits),
                                both ? signedText(num(std::abs(p - f), 4), p - f) : QString()});
            };
            quality(QObject::tr("loss"), full ? full->loss : 0, pruned->loss, pruned->hasLoss, 5);
            quality(QObject::tr("perplexity"), full ? full->perplexity : 0, pruned->perplexity,
                    pruned->hasLoss, 5);
            for (const auto& t : pruned->tasks) {
                const ReportTaskScore* before = nullptr;
                for (const auto& x : full ? full->tasks : std::vector<ReportTaskScore>{})
                    if (x.task == t.task) before = &x;
                rows.push_back({esc(t.task) + QObject::tr(" acc"), before ? num(before->acc, 4) : QString(),
                                num(t.acc, 4),
                                before
                                    ? signedText(num(std::abs(t.acc - before->acc), 4), t.acc - before->acc)
                                    : QString()});
                rows.push_back({esc(t.task) + QObject::tr(" acc_norm"),
                                before ? num(before->accNorm, 4) : QString(), num(t.accNorm, 4),
                                before ? signedText(num(std::abs(t.accNorm - before->accNorm), 4),
                                                    t.accNorm - before->accNorm)
                                       : QString()});
            }
        }
        s.blocks.push_back(
            paragraph(QObject::tr("Removed <code>%1</code>: %2 attention and %3 FFN sub-layers "
                                  "(%4 whole blocks).")
                          .arg(esc(r.removed), QString::number(r.attentionRemoved),
                               QString::number(r.ffnRemoved), QString::number(r.blocksRemoved))));
        s.blocks.push_back({std::nullopt,
                            table({QObject::tr("quantity"), QObject::tr("full model"),
                                   QObject::tr("after removal"), QObject::tr("change")},
                                  rows),
                            true});
    }
    if (s.blocks.empty()) return;
    out.push_back(std::move(s)); // the eval commands are listed under Evaluations
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

// What the model wrote, grouped by prompt so that the full model and each removal set sit together.
void generationSection(const ReportContent& c, std::vector<ReportSection>& out) {
    if (c.generations.empty()) return;
    auto samples = c.generations;
    std::stable_sort(samples.begin(), samples.end(),
                     [](const auto& a, const auto& b) { return a.prompt < b.prompt; });
    std::vector<QStringList> rows;
    for (const auto& g : samples) {
        const QString settings =
            (g.temperature > 0 ? QObject::tr("temperature %1, top-p %2, seed %3")
                                     .arg(num(g.temperature, 3), num(g.topP, 3), QString::number(g.seed))
                               : QObject::tr("greedy")) +
            QObject::tr("; %1 tokens").arg(g.tokens) +
            (g.stopReason.empty() ? QString() : QStringLiteral(" (%1)").arg(esc(g.stopReason)));
        QString text = QStringLiteral("<b>%1</b>%2").arg(esc(g.prompt), esc(g.text));
        text.replace(QLatin1Char('\n'), QStringLiteral("<br>"));
        rows.push_back(
            {g.removed.empty() ? QObject::tr("nothing") : esc(g.removed), settings, text, esc(g.label)});
    }
    ReportSection s{QStringLiteral("generations"), QObject::tr("Generation samples"), {}};
    s.blocks.push_back(paragraph(QObject::tr("The prompt in bold, then what the model wrote.")));
    s.blocks.push_back(
        {std::nullopt,
         table({QObject::tr("removed"), QObject::tr("settings"), QObject::tr("text"), QObject::tr("from")},
               rows),
         true});
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

} // namespace layerlab::ui::report
