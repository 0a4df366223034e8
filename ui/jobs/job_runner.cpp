#include "jobs/job_runner.h"

#include <QMetaObject>
#include <QtConcurrent/QtConcurrent>

#include <c10/core/GradMode.h>

#include <chrono>
#include <cmath>

namespace layerlab::ui {

void JobContext::post(std::function<void()> fn) const {
    QMetaObject::invokeMethod(
        runner_,
        [token = token_, fn = std::move(fn)] {
            if (!token.cancelled()) fn();
        },
        Qt::QueuedConnection);
}

JobRunner::JobRunner(QObject* parent) : QObject(parent) {
    pool_.setMaxThreadCount(1);
    // Large models need deep recursion in nothing of ours, but LibTorch's CPU kernels like room.
    pool_.setStackSize(8 * 1024 * 1024);
}

JobRunner::~JobRunner() {
    cancelAll();
    waitForWorker();
}

void JobRunner::waitForWorker() {
    future_.waitForFinished();
    pool_.waitForDone();
}

QString JobRunner::currentTitle() const {
    return current_ ? current_->title : QString();
}

void JobRunner::submit(const QString& title, JobFn work, const QString& kind) {
    if (!kind.isEmpty()) cancelKind(kind);
    auto job = std::make_shared<Job>();
    job->title = title;
    job->kind = kind;
    job->work = std::move(work);
    job->generation = ++generation_;
    queue_.push_back(std::move(job));
    if (!current_) startNext();
}

void JobRunner::submitGuiStep(const QString& title, std::function<void()> step, bool always) {
    auto job = std::make_shared<Job>();
    job->title = title;
    job->guiStep = std::move(step);
    job->always = always;
    job->generation = ++generation_;
    queue_.push_back(std::move(job));
    if (!current_) startNext(false); // nothing was running: no new "idle"
}

void JobRunner::cancelKind(const QString& kind) {
    std::erase_if(queue_, [&](const auto& j) { return j->kind == kind && !j->always; });
    if (current_ && current_->kind == kind) current_->token.cancel();
}

void JobRunner::cancelAll() {
    std::erase_if(queue_, [](const auto& j) { return !j->always; });
    if (current_) current_->token.cancel();
}

void JobRunner::startNext(bool announceIdle) {
    if (draining_) return;
    draining_ = true;
    while (!queue_.empty() && queue_.front()->guiStep) {
        const auto step = queue_.front();
        queue_.pop_front();
        try {
            step->guiStep();
        } catch (const std::exception& e) {
            Q_EMIT failed(step->title, QString::fromStdString(e.what()));
        }
    }
    draining_ = false;
    if (queue_.empty()) {
        if (announceIdle) Q_EMIT idle();
        return;
    }
    current_ = queue_.front();
    queue_.pop_front();
    current_->clock.start();
    current_->stageClock.start();
    Q_EMIT started(current_->title);

    const auto generation = current_->generation;
    const auto token = current_->token;
    auto work = current_->work;
    // Throttle on the worker so a per-tensor callback does not flood the GUI thread.
    auto lastReport = std::make_shared<std::chrono::steady_clock::time_point>();
    Progress progress(
        [this, generation, lastReport](const ProgressInfo& info) {
            const auto now = std::chrono::steady_clock::now();
            const bool last = info.total > 0 && info.done >= info.total;
            if (!last && now - *lastReport < std::chrono::milliseconds(100)) return;
            *lastReport = now;
            QMetaObject::invokeMethod(
                this, [this, generation, info] { report(generation, info); }, Qt::QueuedConnection);
        },
        token);
    JobContext context(this, progress, token);
    future_ = QtConcurrent::run(&pool_, [this, generation, context, work] {
        // Grad mode is per thread; the metrics that need gradients switch it on themselves.
        c10::NoGradGuard noGrad;
        Outcome outcome = Outcome::Succeeded;
        QString message;
        try {
            work(context);
            if (context.progress().cancelled()) outcome = Outcome::Cancelled;
        } catch (const Cancelled&) {
            outcome = Outcome::Cancelled;
        } catch (const std::bad_alloc&) {
            outcome = Outcome::Failed;
            message = tr("Out of memory. Try a smaller data sample, a shorter window, or bf16.");
        } catch (const std::exception& e) {
            outcome = Outcome::Failed;
            message = QString::fromStdString(e.what());
        } catch (...) {
            outcome = Outcome::Failed;
            message = tr("unknown error");
        }
        QMetaObject::invokeMethod(
            this, [this, generation, outcome, message] { finish(generation, outcome, message); },
            Qt::QueuedConnection);
    });
}

void JobRunner::report(quint64 generation, const ProgressInfo& info) {
    if (!current_ || current_->generation != generation || current_->token.cancelled()) return;
    const auto stage = QString::fromStdString(info.stage);
    if (stage != current_->stage) {
        current_->stage = stage;
        current_->stageClock.restart();
    }
    QString text = stage;
    if (info.total > 0) {
        text += QStringLiteral(" %1/%2").arg(info.done).arg(info.total);
        if (!info.unit.empty()) text += QLatin1Char(' ') + QString::fromStdString(info.unit);
        const double elapsed = static_cast<double>(current_->stageClock.elapsed()) / 1000.0;
        if (info.done > 0 && info.done < info.total && elapsed > 1.0) {
            const double left =
                elapsed * static_cast<double>(info.total - info.done) / static_cast<double>(info.done);
            text += tr(", about %1 left").arg(formatDuration(left));
        }
    }
    text += tr(" (%1)").arg(formatDuration(static_cast<double>(current_->clock.elapsed()) / 1000.0));
    Q_EMIT progressed(current_->title, text, info.done, info.total);
}

void JobRunner::finish(quint64 generation, Outcome outcome, const QString& message) {
    if (!current_ || current_->generation != generation) return;
    const auto job = current_;
    current_.reset();
    if (job->token.cancelled()) outcome = Outcome::Cancelled;
    switch (outcome) {
    case Outcome::Succeeded:
        Q_EMIT succeeded(job->title);
        break;
    case Outcome::Failed:
        Q_EMIT failed(job->title, message);
        break;
    case Outcome::Cancelled:
        Q_EMIT cancelled(job->title);
        break;
    }
    startNext();
}

QString formatDuration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return QStringLiteral("?");
    const auto s = static_cast<qint64>(std::llround(seconds));
    if (s < 60) return QObject::tr("%1 s").arg(s);
    if (s < 3600) return QObject::tr("%1 min %2 s").arg(s / 60).arg(s % 60);
    return QObject::tr("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60);
}

} // namespace layerlab::ui
