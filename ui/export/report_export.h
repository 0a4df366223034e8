#pragma once
// Writing what people put in reports: a widget (chart, layer map) as PNG or SVG, a table model as
// CSV. Every file goes to a temporary file first and is renamed into place (QSaveFile), so a
// failed export never leaves a half-written file behind. Each returns an error message naming the
// file, or an empty string.

#include <QByteArray>
#include <QString>

class QAbstractItemModel;
class QWidget;

namespace layerlab::ui {

// The widget as it draws itself, as an SVG document (empty if the writer cannot start).
QByteArray widgetSvg(QWidget* widget, const QString& title = {});
// The format follows the extension: .png or .svg.
QString saveWidgetImage(QWidget* widget, const QString& path, const QString& title = {});
// One header row from the horizontal headers (line breaks become spaces), then one row per model
// row. Cells with valueRole data are written as numbers at full precision, checkable cells as
// 1/0, others as their display text. With stdErrRole >= 0, columns with any data under it get a
// "<header> stderr" column after them.
QString saveTableCsv(const QAbstractItemModel& model, const QString& path, int valueRole,
                     int stdErrRole = -1);
// Quotes a CSV field when it needs it.
QString csvField(const QString& text);
// Writes text to path through a temporary file.
QString saveText(const QString& path, const QByteArray& content);

} // namespace layerlab::ui
