#pragma once
// The HTML pieces a report is made of. The same markup goes into the HTML file and, through
// QTextDocument, into the PDF, so it keeps to what both read: tables, `bgcolor`, inline colour.
// In their own namespace so that short names do not meet the workbench's in unity builds.

#include <QString>
#include <QStringList>

#include <string>
#include <vector>

#include "model/layer_mask.h"

namespace layerlab::ui::report {

QString esc(const std::string& s);       // HTML-escaped
QString num(double v, int digits = 4);   // 'g' format, `digits` significant
QString unitLabel(Unit u);               // blocks, attention, FFN
QString idPart(const std::string& name); // letters, digits, '_' and '-' only
QString table(const QStringList& header, const std::vector<QStringList>& rows);
QString paragraphHtml(const QString& html);

// One column of a heatmap: a value per row (NaN: none) and the rows where the unit is removed.
struct HeatmapColumn {
    QString title; // HTML
    std::vector<double> values;
    std::vector<bool> removed; // empty: none
};

// Rows x columns coloured as the layer map colours them: per column, viridis from least (light)
// to most important (dark) over the column's range without far outliers (colourRange); removed
// units grey. `rowNotes`: an extra second column (e.g. what is removed), skipped when empty.
QString heatmapTable(const QString& rowTitle, int64_t rows, const std::vector<HeatmapColumn>& columns,
                     const QString& notesTitle = {}, const std::vector<QString>& rowNotes = {});

} // namespace layerlab::ui::report
