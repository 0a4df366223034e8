#include "report/report_html.h"

#include "layer_map/heatmap_palette.h"
#include "layer_map/layer_map_model.h"

#include <QObject>

#include <algorithm>
#include <cmath>

namespace layerlab::ui::report {

QString esc(const std::string& s) {
    return QString::fromStdString(s).toHtmlEscaped();
}

QString num(double v, int digits) {
    return QString::number(v, 'g', digits);
}

QString unitLabel(Unit u) {
    return u == Unit::Block       ? QStringLiteral("blocks")
           : u == Unit::Attention ? QStringLiteral("attention")
                                  : QStringLiteral("FFN");
}

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

QString paragraphHtml(const QString& html) {
    return QStringLiteral("<p>") + html + QStringLiteral("</p>");
}

QString heatmapTable(const QString& rowTitle, int64_t rows, const std::vector<HeatmapColumn>& columns,
                     const QString& notesTitle, const std::vector<QString>& rowNotes) {
    std::vector<std::pair<double, double>> ranges;
    for (const auto& c : columns) {
        std::vector<double> finite;
        std::copy_if(c.values.begin(), c.values.end(), std::back_inserter(finite),
                     [](double v) { return std::isfinite(v); });
        ranges.push_back(colourRange(finite));
    }
    const bool notes = !rowNotes.empty();
    QString html = QStringLiteral("<table class=\"heatmap\"><tr><th>%1</th>").arg(rowTitle);
    if (notes) html += QStringLiteral("<th>%1</th>").arg(notesTitle);
    for (const auto& c : columns)
        html += QStringLiteral("<th>%1</th>").arg(c.title);
    html += QStringLiteral("</tr>");
    for (int64_t r = 0; r < rows; ++r) {
        const auto row = static_cast<size_t>(r);
        html += QStringLiteral("<tr><td>%1</td>").arg(r);
        if (notes)
            html += QStringLiteral("<td>%1</td>").arg(row < rowNotes.size() ? rowNotes[row] : QString());
        for (size_t k = 0; k < columns.size(); ++k) {
            const auto& c = columns[k];
            const double v = row < c.values.size() ? c.values[row] : std::nan("");
            const bool removed = row < c.removed.size() && c.removed[row];
            if (!std::isfinite(v) && !removed) {
                html += QStringLiteral("<td></td>");
                continue;
            }
            const auto [lo, hi] = ranges[k];
            const double t = hi > lo ? std::clamp((v - lo) / (hi - lo), 0.0, 1.0) : 0.5;
            const QColor background = removed ? removedBackground() : heatmapColor(t);
            html += QStringLiteral(
                        "<td class=\"cell\" align=\"right\" bgcolor=\"%1\" style=\"color: %2\">%3</td>")
                        .arg(background.name(), textColorOn(background).name(),
                             !std::isfinite(v) ? QString()
                             : removed         ? QStringLiteral("<s>%1</s>").arg(num(v, 4))
                                               : num(v, 4));
        }
        html += QStringLiteral("</tr>");
    }
    return html + QStringLiteral("</table>");
}

} // namespace layerlab::ui::report
