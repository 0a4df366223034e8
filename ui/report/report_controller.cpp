#include "report/report_controller.h"

#include "common/error.h"
#include "common/utc_time.h"
#include "jobs/job_runner.h"
#include "report/report_content.h"
#include "report/report_document.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QTimer>

#include <memory>

namespace layerlab::ui {

ReportController::ReportController(JobRunner& jobs, std::function<Session()> session, QWidget* window)
    : QObject(window), jobs_(&jobs), session_(std::move(session)), window_(window) {}

void ReportController::chooseAndExport() {
    const QString path =
        QFileDialog::getSaveFileName(window_, tr("Export report"), QStringLiteral("report.html"),
                                     tr("HTML report, with a PDF beside it (*.html)"));
    if (!path.isEmpty())
        exportReport(path.endsWith(QStringLiteral(".html")) ? path : path + QStringLiteral(".html"));
}

void ReportController::exportReport(const QString& html) {
    ReportContent built;
    try {
        built = reportFromSession(session_(), tr("the workbench session").toStdString());
    } catch (const std::exception& e) {
        Q_EMIT errorReported(tr("Cannot make the report"), QString::fromUtf8(e.what()));
        return;
    }
    auto content = std::make_shared<ReportContent>(std::move(built));
    content->layerlabVersion = LAYERLAB_VERSION;
    content->created = utcNow();
    const QString pdf =
        QFileInfo(html).dir().filePath(QFileInfo(html).completeBaseName() + QStringLiteral(".pdf"));
    jobs_->submit(tr("Report: hashing the model's files"),
                  [content](const JobContext& ctx) { hashModelFiles(*content, ctx.progress()); });
    jobs_->submitGuiStep(tr("Report: drawing %1").arg(html), [this, content, html, pdf] {
        drawNext(std::make_shared<ReportDrawing>(*content), content, html, pdf);
    });
}

// One chart per step of the event loop: a report of a large model has dozens, and the window
// stays responsive between them. The content is kept alive by the chain of steps.
void ReportController::drawNext(std::shared_ptr<ReportDrawing> drawing,
                                std::shared_ptr<ReportContent> content, QString html, QString pdf) {
    if (drawing->drawNext()) {
        Q_EMIT statusMessage(
            tr("Report: drawing chart %1 of %2").arg(drawing->drawn()).arg(drawing->figures()));
        QTimer::singleShot(0, this,
                           [this, drawing, content, html, pdf] { drawNext(drawing, content, html, pdf); });
        return;
    }
    // Writing the files takes longer than any chart (a PDF of a large model: ~0.4 s), so it runs
    // on the worker: QPdfWriter, QTextDocument and replaying the recorded charts are thread-safe.
    jobs_->submit(tr("Report: writing %1").arg(html),
                  [this, drawing, content, html, pdf](const JobContext& ctx) {
                      for (const auto& error : {drawing->writeHtml(html), drawing->writePdf(pdf)})
                          if (!error.isEmpty()) throw Error(error.toStdString());
                      ctx.post([this, html, pdf] {
                          Q_EMIT statusMessage(tr("Report written to %1 and %2").arg(html, pdf));
                          Q_EMIT written(html);
                      });
                  });
}

} // namespace layerlab::ui
