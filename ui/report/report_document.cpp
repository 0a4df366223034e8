#include "report/report_document.h"

#include "common/error.h"
#include "export/report_export.h"
#include "report/report_html.h"
#include "report/report_sections.h"

#include <QChart>
#include <QChartView>
#include <QCoreApplication>
#include <QPainter>
#include <QPdfWriter>
#include <QSaveFile>
#include <QTextDocument>

#include <algorithm>

namespace layerlab::ui {

namespace {

constexpr QSize kChartSize(900, 420);

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
div.scroll { overflow-x: auto; }
table.heatmap td.cell { text-align: right; font-variant-numeric: tabular-nums; }
)css";

} // namespace

std::vector<ReportSection> reportSections(const ReportContent& c) {
    using namespace report;
    std::vector<ReportSection> out;
    layerMapSection(c, out);
    importanceSection(c, out);
    agreementSection(c, out);
    curveSections(c, out);
    taskSection(c, out);
    costSection(c, out);
    recoverySection(c, out);
    evaluationSection(c, out);
    generationSection(c, out);
    exportSection(c, out);
    provenanceSection(c, out);
    for (auto& s : out)
        std::erase_if(s.blocks, [](const ReportBlock& b) { return !b.figure && b.html.isEmpty(); });
    return out;
}

ReportDrawing::ReportDrawing(const ReportContent& content)
    : content_(&content), sections_(reportSections(content)) {
    for (const auto& s : sections_)
        for (const auto& b : s.blocks)
            if (b.figure) figures_.push_back(&*b.figure);
}

ReportDrawing::~ReportDrawing() = default;

bool ReportDrawing::drawNext() {
    if (drawn_.size() >= figures_.size()) return false;
    const ReportFigure& figure = *figures_[drawn_.size()];
    OffscreenChart chart(figure);
    Drawn d;
    d.svg = widgetSvg(&chart.view(), figure.caption);
    // Inline: the XML prolog stays out of the HTML.
    if (const auto start = d.svg.indexOf("<svg"); start > 0) d.svg.remove(0, start);
    // The PDF replays the same drawing: the chart is laid out once.
    QPainter painter(&d.picture);
    chart.view().render(&painter, QRectF(QPointF(0, 0), kChartSize));
    painter.end();
    drawn_.push_back(std::move(d));
    return drawn_.size() < figures_.size();
}

void ReportDrawing::drawAll() {
    while (drawNext()) {
    }
}

const ReportDrawing::Drawn& ReportDrawing::drawnFigure(const ReportFigure& figure) const {
    const auto it = std::find(figures_.begin(), figures_.end(), &figure);
    const auto i = static_cast<size_t>(it - figures_.begin());
    if (i >= drawn_.size()) throw Error("report: figure " + figure.id.toStdString() + " was not drawn");
    return drawn_[i];
}

QString ReportDrawing::writeHtml(const QString& path) const {
    const auto& c = *content_;
    QString html =
        QStringLiteral("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%1</title>"
                       "<style>%2</style></head><body>\n<h1>%1</h1>\n<nav><ul>")
            .arg(report::esc(c.title), QString::fromLatin1(kStyle));
    for (const auto& s : sections_)
        html += QStringLiteral("<li><a href=\"#%1\">%2</a></li>").arg(s.id, s.title);
    html += QStringLiteral("</ul></nav>\n");
    for (const auto& s : sections_) {
        html += QStringLiteral("<section id=\"%1\"><h2>%2</h2>\n").arg(s.id, s.title);
        for (const auto& b : s.blocks) {
            if (b.figure) {
                html += QStringLiteral("<figure class=\"chart\" id=\"%1\">").arg(b.figure->id) +
                        QString::fromUtf8(drawnFigure(*b.figure).svg) +
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

QString ReportDrawing::writePdf(const QString& path) const {
    const auto& c = *content_;
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
        drawHtml(QStringLiteral("<h1>%1</h1>").arg(report::esc(c.title)));
        for (const auto& s : sections_) {
            drawHtml(QStringLiteral("<h2>%1</h2>").arg(s.title));
            for (const auto& b : s.blocks) {
                if (!b.inPdf) continue;
                if (!b.figure) {
                    drawHtml(b.html);
                    continue;
                }
                const double scale = width / kChartSize.width();
                const double h = kChartSize.height() * scale;
                place(h);
                painter.save();
                painter.translate(0, y);
                painter.scale(scale, scale);
                painter.drawPicture(QPointF(0, 0), drawnFigure(*b.figure).picture);
                painter.restore();
                y += h + 8;
            }
        }
        painter.end();
    }
    if (!file.commit()) return QObject::tr("%1: %2").arg(path, file.errorString());
    return {};
}

QString writeHtmlReport(const ReportContent& content, const QString& path) {
    ReportDrawing drawing(content);
    drawing.drawAll();
    return drawing.writeHtml(path);
}

QString writePdfReport(const ReportContent& content, const QString& path) {
    ReportDrawing drawing(content);
    drawing.drawAll();
    return drawing.writePdf(path);
}

} // namespace layerlab::ui
