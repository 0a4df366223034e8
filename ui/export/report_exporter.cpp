#include "export/report_exporter.h"

#include "export/report_export.h"

#include <QFileDialog>

namespace layerlab::ui {

ReportExporter::ReportExporter(QWidget* window) : QObject(window), window_(window) {}

void ReportExporter::saveImage(QWidget* widget, const QString& what, const QString& title) {
    QString filter;
    auto path = QFileDialog::getSaveFileName(window_, tr("Export %1").arg(what), {},
                                             tr("PNG image (*.png);;SVG image (*.svg)"), &filter);
    if (path.isEmpty()) return;
    if (!path.endsWith(QStringLiteral(".png"), Qt::CaseInsensitive) &&
        !path.endsWith(QStringLiteral(".svg"), Qt::CaseInsensitive))
        path += filter.contains(QStringLiteral("svg")) ? QStringLiteral(".svg") : QStringLiteral(".png");
    if (const auto error = saveWidgetImage(widget, path, title); !error.isEmpty())
        Q_EMIT errorReported(tr("Export failed"), error);
    else
        Q_EMIT statusMessage(tr("Wrote %1").arg(path));
}

void ReportExporter::saveCsv(const QString& what, const std::function<QString(const QString&)>& save) {
    auto path = QFileDialog::getSaveFileName(window_, tr("Export %1").arg(what), {}, tr("CSV (*.csv)"));
    if (path.isEmpty()) return;
    if (!path.endsWith(QStringLiteral(".csv"), Qt::CaseInsensitive)) path += QStringLiteral(".csv");
    if (const auto error = save(path); !error.isEmpty())
        Q_EMIT errorReported(tr("Export failed"), error);
    else
        Q_EMIT statusMessage(tr("Wrote %1").arg(path));
}

void ReportExporter::saveTable(const QAbstractItemModel& model, const QString& what, int valueRole,
                               int stdErrRole) {
    saveCsv(what, [&](const QString& path) { return saveTableCsv(model, path, valueRole, stdErrRole); });
}

} // namespace layerlab::ui
