#pragma once
// File > Export report: the current session as the report `layerlab-cli report SESSION.layerlab`
// writes (one HTML file and a PDF beside it). The model's files are hashed and the files written
// on the worker thread; the charts are drawn on the GUI thread, which they need, one per step.

#include <QObject>
#include <QString>

#include <functional>
#include <memory>

#include "session/session_file.h"

class QWidget;

namespace layerlab::ui {

class JobRunner;
class ReportDrawing;
struct ReportContent;

class ReportController : public QObject {
    Q_OBJECT
public:
    // session: the session as it would be saved now.
    ReportController(JobRunner& jobs, std::function<Session()> session, QWidget* window);

    void chooseAndExport();
    // Writes `html` and the PDF with the same name; the outcome goes to statusMessage or errorReported.
    void exportReport(const QString& html);

Q_SIGNALS:
    void errorReported(const QString& title, const QString& message);
    void statusMessage(const QString& text);
    void written(const QString& html); // both files are written

private:
    void drawNext(std::shared_ptr<ReportDrawing> drawing, std::shared_ptr<ReportContent> content,
                  QString html, QString pdf);

    JobRunner* jobs_;
    std::function<Session()> session_;
    QWidget* window_;
};

} // namespace layerlab::ui
