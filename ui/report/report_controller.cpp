#include "report/report_controller.h"

#include "common/utc_time.h"
#include "jobs/job_runner.h"
#include "report/report_content.h"
#include "report/report_document.h"

#include <QFileDialog>
#include <QFileInfo>

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
        for (const auto& [path, write] :
             {std::pair{html, &writeHtmlReport}, std::pair{pdf, &writePdfReport}}) {
            if (const auto error = write(*content, path); !error.isEmpty()) {
                Q_EMIT errorReported(tr("Cannot write the report"), error);
                return;
            }
        }
        Q_EMIT statusMessage(tr("Report written to %1 and %2").arg(html, pdf));
    });
}

} // namespace layerlab::ui
