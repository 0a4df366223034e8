#pragma once
// File > Export report: the current session as the report `layerlab-cli report SESSION.layerlab`
// writes (one HTML file and a PDF beside it). The model's files are hashed on the worker (a job
// that Cancel stops), the charts drawn on the GUI thread, which they need, one per event-loop
// step, and the files written on a thread of their own. One export at a time.

#include <QObject>
#include <QString>

#include <functional>
#include <memory>

#include "report/report_document.h"
#include "session/session_file.h"

class QWidget;

namespace layerlab::ui {

class JobRunner;
struct ReportContent;

class ReportController : public QObject {
    Q_OBJECT
public:
    // session: the session as it would be saved now.
    ReportController(JobRunner& jobs, std::function<Session()> session, QWidget* window);

    void chooseAndExport();
    // Writes `html` and the PDF with the same name; the outcome goes to statusMessage or errorReported.
    void exportReport(const QString& html);
    bool busy() const { return active_ != nullptr; }

Q_SIGNALS:
    void errorReported(const QString& title, const QString& message);
    void statusMessage(const QString& text);
    void written(const QString& html); // both files are written

private:
    struct Export {
        std::shared_ptr<ReportContent> content;
        std::unique_ptr<ReportDrawing> drawing; // points into content
        QString html, pdf;
        bool hashed = false;
    };
    void drawNext();
    void finish(const QString& error); // "" when both files are written

    JobRunner* jobs_;
    std::function<Session()> session_;
    QWidget* window_;
    std::shared_ptr<Export> active_;
};

} // namespace layerlab::ui
