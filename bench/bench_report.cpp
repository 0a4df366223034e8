// How long the workbench's GUI thread is busy while File > Export report draws a report of a large
// study: every chart's draw (one per event-loop step) and the final write of the HTML and the PDF.
// The study is synthetic with a real model's shape: L layers, every metric the workbench computes
// for blocks, attention and FFN, pruning curves for three granularities, two tasks' answer
// importance, recovery, evaluations, a cost and generated samples.
//   bench_report [LAYERS=32] [OUT_DIR=.]

#include "report/report_content.h"
#include "report/report_document.h"

#include <QApplication>
#include <QDir>
#include <QElapsedTimer>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

using namespace layerlab;
using namespace layerlab::ui;

namespace {

ReportContent study(int64_t L) {
    ReportContent c;
    c.title = "Depth pruning report: synthetic-" + std::to_string(L);
    c.modelDir = "/models/synthetic";
    c.layers = L;
    c.removed = "block:" + std::to_string(L / 2) + "-" + std::to_string(L / 2 + 3);
    std::mt19937 rng(1);
    std::uniform_real_distribution<double> u(0, 1);
    auto values = [&] {
        std::vector<double> v(static_cast<size_t>(L));
        for (auto& x : v)
            x = u(rng);
        return v;
    };
    for (const char* m :
         {"cosine", "angular", "l2_update", "drop_loss", "drop_kl", "shapley", "taylor", "present_absent"})
        for (Unit unit : {Unit::Block, Unit::Attention, Unit::Ffn}) {
            c.scores.values[m][static_cast<size_t>(unit)] = values();
            if (std::string(m) == "shapley") c.scores.stdErr[m][static_cast<size_t>(unit)] = values();
        }
    for (const char* task : {"hellaswag", "piqa"})
        for (Unit unit : {Unit::Block, Unit::Attention, Unit::Ffn})
            c.taskScores[task].values["shapley_task_loss"][static_cast<size_t>(unit)] = values();
    for (const char* m : {"cosine", "drop_loss", "shapley"})
        for (Unit unit : {Unit::Block, Unit::Attention, Unit::Ffn})
            for (int64_t k = 0; k <= L / 2; k += 2)
                c.curves.push_back({m, unit, k, 0.02 * static_cast<double>(k), "", true, 2.0 + 0.05 * k,
                                    std::exp(2.0 + 0.05 * static_cast<double>(k))});
    for (const char* method : {"bias", "lowrank:64", "fold-linear", "lora:8"})
        c.recoveries.push_back({c.removed, method, 2.0, 2.6, 2.3, 7.4, 13.5, 10.0});
    c.evaluations.push_back(
        {"full model (refined sample)", 1, "", true, 2.0, 7.39, {{"hellaswag", 0.5, 0.6, 500}}});
    c.evaluations.push_back(
        {"removal set (refined sample)", 1, c.removed, true, 2.6, 13.5, {{"hellaswag", 0.45, 0.52, 500}}});
    c.costs.push_back({c.removed, 0, 0, 4, 6.7e9, 8.1e8, 524288, 65536, 1.3e10, 1.6e9});
    for (int i = 0; i < 4; ++i)
        c.generations.push_back({"workbench", i % 2 ? c.removed : "", "And God said", " let there be light",
                                 "length", 48, 48, 0, 1, 0});
    return c;
}

double ms(const QElapsedTimer& t) {
    return static_cast<double>(t.nsecsElapsed()) / 1e6;
}

} // namespace

int main(int argc, char** argv) {
    if (!qEnvironmentVariableIsSet("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    const int64_t L = argc > 1 ? std::stoll(argv[1]) : 32;
    const QString out = argc > 2 ? QString::fromLocal8Bit(argv[2]) : QDir::currentPath();
    const auto content = study(L);
    QElapsedTimer total;
    total.start();
    ReportDrawing drawing(content);
    std::vector<double> steps;
    while (true) {
        QElapsedTimer t;
        t.start();
        const bool more = drawing.drawNext();
        steps.push_back(ms(t));
        if (qEnvironmentVariableIsSet("BENCH_REPORT_EACH"))
            std::printf("chart %zu: %.1f ms\n", steps.size(), steps.back());
        if (!more) break;
    }
    QElapsedTimer html;
    html.start();
    const auto htmlError = drawing.writeHtml(QDir(out).filePath(QStringLiteral("bench_report.html")));
    const double htmlMs = ms(html);
    QElapsedTimer pdf;
    pdf.start();
    const auto pdfError = drawing.writePdf(QDir(out).filePath(QStringLiteral("bench_report.pdf")));
    const double pdfMs = ms(pdf);
    std::sort(steps.begin(), steps.end());
    // The workbench draws one chart per event-loop step (GUI thread) and writes on its worker.
    std::printf(
        "layers %lld, charts %zu: GUI thread per chart median %.1f ms, max %.1f ms; worker: HTML %.1f ms, "
        "PDF %.1f ms; total %.0f ms%s%s\n",
        static_cast<long long>(L), drawing.figures(), steps[steps.size() / 2], steps.back(), htmlMs, pdfMs,
        ms(total), qPrintable(htmlError), qPrintable(pdfError));
    return htmlError.isEmpty() && pdfError.isEmpty() ? 0 : 1;
}
