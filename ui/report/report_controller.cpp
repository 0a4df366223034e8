#include "report/report_controller.h"

#include "common/utc_time.h"
#include "jobs/job_runner.h"
#include "report/report_content.h"
#include "report/report_document.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QFutureWatcher>
#include <QTimer>
#include <QtConcurrent>

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
    if (active_) {
        Q_EMIT errorReported(
            tr("A report is being written"),
            tr("%1 is still being written; export again when it is done.").arg(active_->html));
        return;
    }
    ReportContent built;
    try {
        built = reportFromSession(session_(), tr("the workbench session").toStdString());
    } catch (const std::exception& e) {
        Q_EMIT errorReported(tr("Cannot make the report"), QString::fromUtf8(e.what()));
        return;
    }
    auto job = std::make_shared<Export>();
    job->content = std::make_shared<ReportContent>(std::move(built));
    job->content->layerlabVersion = LAYERLAB_VERSION;
    job->content->created = utcNow();
    job->html = html;
    job->pdf = QFileInfo(html).dir().filePath(QFileInfo(html).completeBaseName() + QStringLiteral(".pdf"));
    active_ = job;
    jobs_->submit(tr("Report: hashing the model's files"), [job](const JobContext& ctx) {
        hashModelFiles(*job->content, ctx.progress());
        job->hashed = true; // not reached when cancelled
    });
    // Always runs, so that a cancelled export is let go of.
    jobs_->submitGuiStep(
        tr("Report: drawing %1").arg(html),
        [this, job] {
            if (active_ != job) return;
            if (!job->hashed) {
                active_.reset();
                Q_EMIT statusMessage(tr("Report: stopped"));
                return;
            }
            job->drawing = std::make_unique<ReportDrawing>(*job->content);
            drawNext();
        },
        /*always=*/true);
}

// One chart per step of the event loop: a report of a large model has dozens, and the window
// stays responsive between them.
void ReportController::drawNext() {
    const auto job = active_;
    if (!job) return;
    try {
        if (job->drawing->drawNext()) {
            Q_EMIT statusMessage(
                tr("Report: drawing chart %1 of %2").arg(job->drawing->drawn()).arg(job->drawing->figures()));
            QTimer::singleShot(0, this, [this] { drawNext(); });
            return;
        }
    } catch (const std::exception& e) {
        finish(QString::fromUtf8(e.what()));
        return;
    }
    // Writing takes longer than any chart (the PDF of a large model: ~0.4 s), so it runs on a
    // thread of its own, outside the job queue, which it need not wait for: QPdfWriter and
    // QTextDocument work off the GUI thread, and the charts are replayed from their recordings.
    Q_EMIT statusMessage(tr("Report: writing %1").arg(job->html));
    auto* watcher = new QFutureWatcher<QString>(this);
    connect(watcher, &QFutureWatcher<QString>::finished, this, [this, watcher] {
        finish(watcher->result());
        watcher->deleteLater();
    });
    watcher->setFuture(QtConcurrent::run([job] {
        auto error = job->drawing->writeHtml(job->html);
        if (error.isEmpty()) error = job->drawing->writePdf(job->pdf);
        return error;
    }));
}

void ReportController::finish(const QString& error) {
    const auto job = active_;
    active_.reset();
    if (!job) return;
    if (!error.isEmpty()) {
        Q_EMIT errorReported(tr("Cannot write the report"), error);
        return;
    }
    Q_EMIT statusMessage(tr("Report written to %1 and %2").arg(job->html, job->pdf));
    Q_EMIT written(job->html);
}

} // namespace layerlab::ui
