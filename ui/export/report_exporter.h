#pragma once
// Report files from the window's menus and the pages' export buttons: asks where (PNG or SVG for
// a chart or the layer map, CSV for a table), writes through report_export.h, and says how it went.

#include <QObject>

#include <functional>

class QAbstractItemModel;
class QWidget;

namespace layerlab::ui {

class ReportExporter : public QObject {
    Q_OBJECT
public:
    // window: where the file dialogs open.
    explicit ReportExporter(QWidget* window);

    // what: for the dialog's title ("layer map"); title: drawn above the image.
    void saveImage(QWidget* widget, const QString& what, const QString& title);
    // save: writes to the path chosen, returns an error message or "".
    void saveCsv(const QString& what, const std::function<QString(const QString&)>& save);
    // As saveTableCsv.
    void saveTable(const QAbstractItemModel& model, const QString& what, int valueRole, int stdErrRole = -1);

Q_SIGNALS:
    void errorReported(const QString& title, const QString& message);
    void statusMessage(const QString& text);

private:
    QWidget* window_;
};

} // namespace layerlab::ui
