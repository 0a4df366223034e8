#pragma once
// A pruning report as documents: one self-contained HTML file (charts inline as SVG, tables, the
// provenance block) and a PDF of the same sections. The charts are the workbench's own Qt Charts
// (importanceBarChart, pruningCurveChart), rendered offscreen. Each writer goes through a
// temporary file and returns an error naming the file, or "".

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

// The sections present for this content, in order: importance per metric, metric agreement (rank
// correlations, scatter plots), pruning curves per
// granularity, granularities at equal parameter savings, task-answer importance, recovery,
// evaluations, export, provenance (always).
std::vector<ReportSection> reportSections(const ReportContent& content);

QString writeHtmlReport(const ReportContent& content, const QString& path);
QString writePdfReport(const ReportContent& content, const QString& path);

} // namespace layerlab::ui
