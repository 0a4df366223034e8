#pragma once
// Runs the workbench's long operations (loading, importance, evaluation) one at a time on a
// worker thread, through the core's Progress / CancelToken interface.
//
// Jobs queue in submission order. A job hands results to the GUI thread with JobContext::post;
// posts of a job that was cancelled or superseded meanwhile are dropped, so a stale result never
// reaches the screen. Submitting with a `kind` supersedes the queued and running jobs of that
// kind (auto-evaluation after every toggle). Cancelling is reported as cancelled, never as failed.

#include <QElapsedTimer>
#include <QFuture>
#include <QObject>
#include <QString>
#include <QThreadPool>

#include <deque>
#include <functional>
#include <memory>

#include "common/progress.h"

namespace layerlab::ui {

class JobRunner;

// What a running job sees (on the worker thread).
class JobContext {
public:
    const Progress& progress() const { return progress_; }
    // Runs fn on the GUI thread, unless the job has been cancelled by then.
    void post(std::function<void()> fn) const;

private:
    friend class JobRunner;
    JobContext(JobRunner* runner, Progress progress, CancelToken token)
        : runner_(runner), progress_(std::move(progress)), token_(std::move(token)) {}
    JobRunner* runner_;
    Progress progress_;
    CancelToken token_;
};

using JobFn = std::function<void(const JobContext&)>;

class JobRunner : public QObject {
    Q_OBJECT
public:
    explicit JobRunner(QObject* parent = nullptr);
    ~JobRunner() override; // cancels everything and waits for the worker

    // Queues a job. A non-empty kind cancels the queued and running jobs of the same kind first.
    void submit(const QString& title, JobFn work, const QString& kind = {});
    // Queues a step that runs on the GUI thread when its turn comes: no worker job runs then, so
    // it may change what the jobs share (install adapters in the model). With `always`, cancelling
    // does not drop it (a clean-up that must happen). Errors it throws are reported as failed.
    void submitGuiStep(const QString& title, std::function<void()> step, bool always = false);
    // Cancels the running job and drops the queued ones.
    void cancelAll();
    void cancelKind(const QString& kind);
    bool busy() const { return current_ != nullptr || !queue_.empty(); }
    QString currentTitle() const;
    // Blocks until the worker is idle (for shutdown and tests; posts stay queued).
    void waitForWorker();

Q_SIGNALS:
    void started(const QString& title);
    // Throttled to about 10 per second; text is ready to show ("stage 3/10 tensors, 2 s left").
    void progressed(const QString& title, const QString& text, qint64 done, qint64 total);
    void succeeded(const QString& title);
    void failed(const QString& title, const QString& message);
    void cancelled(const QString& title);
    void idle(); // the queue ran empty

private:
    struct Job {
        QString title, kind;
        JobFn work;
        std::function<void()> guiStep;
        bool always = false;
        CancelToken token;
        quint64 generation = 0;
        QElapsedTimer clock;
        QString stage;
        QElapsedTimer stageClock;
    };
    enum class Outcome { Succeeded, Failed, Cancelled };

    void startNext(bool announceIdle = true);
    void finish(quint64 generation, Outcome outcome, const QString& message);
    void report(quint64 generation, const ProgressInfo& info);

    std::deque<std::shared_ptr<Job>> queue_;
    std::shared_ptr<Job> current_;
    QFuture<void> future_;
    QThreadPool pool_; // one thread: jobs share the model and never overlap
    quint64 generation_ = 0;
    bool draining_ = false; // running GUI steps; submissions from inside them just queue
};

// "12 s", "3 min 5 s", "1 h 2 min".
QString formatDuration(double seconds);

} // namespace layerlab::ui
