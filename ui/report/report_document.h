#pragma once
// A pruning report as documents: one self-contained HTML file (charts inline as SVG, tables, the
// provenance block) and a PDF of the same sections. The charts are the workbench's own Qt Charts
// (importanceBarChart, pruningCurveChart), rendered offscreen. Each writer goes through a
// temporary file and returns an error naming the file, or "".

#include <QByteArray>
#include <QPicture>
#include <QString>

#include <functional>
#include <optional>
#include <vector>

#include "report/report_content.h"

class QChart;

namespace layerlab::ui {

struct ReportFigure {
    QString id;                    // unique in the report: "importance-cosine", "curve-attn", ...
    std::function<QChart*()> make; // a new chart each time it is drawn
    QString caption;
};

// A figure or a piece of HTML (a paragraph or a table). Long per-layer tables stay out of the PDF.
struct ReportBlock {
    std::optional<ReportFigure> figure;
    QString html;
    bool inPdf = true;
};

struct ReportSection {
    QString id, title;
    std::vector<ReportBlock> blocks;
};

// The sections present for this content, in order: the layer map, importance per metric, metric
// agreement (rank correlations, scatter plots), pruning curves per granularity, granularities at
// equal parameter savings, task-answer importance (layers x tasks), the removal set's cost,
// recovery, evaluations, generation samples, export, provenance (always).
std::vector<ReportSection> reportSections(const ReportContent& content);

// A report whose charts are drawn one at a time, so that the workbench can draw one per step of
// its event loop (Qt Charts draw on the GUI thread only), then written as HTML and PDF. Each chart
// is laid out once: its SVG goes into the HTML, a recording of the same drawing into the PDF.
// `content` must outlive the drawing.
class ReportDrawing {
public:
    explicit ReportDrawing(const ReportContent& content);
    ~ReportDrawing();
    ReportDrawing(const ReportDrawing&) = delete; // figures_ points into sections_
    ReportDrawing& operator=(const ReportDrawing&) = delete;

    size_t figures() const { return figures_.size(); }
    size_t drawn() const { return drawn_.size(); }
    bool drawNext(); // draws the next chart; false once all are drawn
    void drawAll();
    // Need every chart drawn. Each goes through a temporary file; an error naming the file, or "".
    QString writeHtml(const QString& path) const;
    QString writePdf(const QString& path) const;

private:
    struct Drawn {
        QByteArray svg;
        QPicture picture;
    };
    const Drawn& drawnFigure(const ReportFigure& figure) const;

    const ReportContent* content_;
    std::vector<ReportSection> sections_;
    std::vector<const ReportFigure*> figures_;
    std::vector<Drawn> drawn_;
};

QString writeHtmlReport(const ReportContent& content, const QString& path);
QString writePdfReport(const ReportContent& content, const QString& path);

} // namespace layerlab::ui
