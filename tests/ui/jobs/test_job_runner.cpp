#include "jobs/job_runner.h"

#include <QCoreApplication>
#include <QSignalSpy>
#include <QThread>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>

using namespace layerlab;
using namespace layerlab::ui;

namespace {

// Works until cancelled (or about 20 s), reporting progress.
void spin(const JobContext& ctx, std::atomic<bool>* started = nullptr) {
    if (started) *started = true;
    for (int i = 0; i < 2000; ++i) {
        ctx.progress().report("spinning", i, 2000, "steps");
        ctx.progress().checkCancelled();
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

} // namespace

TEST(JobRunner, ResultsArriveOnTheGuiThread) {
    JobRunner runner;
    QSignalSpy done(&runner, &JobRunner::succeeded);
    QSignalSpy idle(&runner, &JobRunner::idle);
    int value = 0;
    bool onGuiThread = false;
    bool workerOffGuiThread = false;
    runner.submit("answer", [&](const JobContext& ctx) {
        workerOffGuiThread = QThread::currentThread() != qApp->thread();
        ctx.post([&] {
            value = 42;
            onGuiThread = QThread::currentThread() == qApp->thread();
        });
    });
    ASSERT_TRUE(done.wait(10000));
    EXPECT_EQ(done.first().first().toString(), "answer");
    EXPECT_EQ(value, 42);
    EXPECT_TRUE(onGuiThread);
    EXPECT_TRUE(workerOffGuiThread);
    EXPECT_TRUE(idle.count() == 1 || idle.wait(1000));
    EXPECT_FALSE(runner.busy());
}

TEST(JobRunner, ErrorsBecomeMessages) {
    JobRunner runner;
    QSignalSpy failed(&runner, &JobRunner::failed);
    runner.submit("broken", [](const JobContext&) { throw std::runtime_error("data.jsonl:3: bad line"); });
    ASSERT_TRUE(failed.wait(10000));
    EXPECT_EQ(failed.first().at(1).toString(), "data.jsonl:3: bad line");
}

TEST(JobRunner, CancelIsNotAFailureAndDropsLatePosts) {
    JobRunner runner;
    QSignalSpy cancelled(&runner, &JobRunner::cancelled);
    QSignalSpy failed(&runner, &JobRunner::failed);
    QSignalSpy progressed(&runner, &JobRunner::progressed);
    std::atomic<bool> started = false;
    bool latePost = false;
    runner.submit("long", [&](const JobContext& ctx) {
        try {
            spin(ctx, &started);
        } catch (const Cancelled&) {
            ctx.post([&] { latePost = true; }); // after cancellation: must not arrive
            throw;
        }
    });
    ASSERT_TRUE(progressed.wait(10000));
    EXPECT_TRUE(progressed.first().at(1).toString().startsWith("spinning"));
    runner.cancelAll();
    ASSERT_TRUE(cancelled.wait(10000));
    QCoreApplication::processEvents();
    EXPECT_FALSE(latePost);
    EXPECT_EQ(failed.count(), 0);
}

TEST(JobRunner, JobsQueueInOrder) {
    JobRunner runner;
    QSignalSpy idle(&runner, &JobRunner::idle);
    std::vector<int> order;
    for (int i = 0; i < 3; ++i)
        runner.submit(QString::number(i), [&order, i](const JobContext& ctx) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            ctx.post([&order, i] { order.push_back(i); });
        });
    EXPECT_TRUE(runner.busy());
    ASSERT_TRUE(idle.wait(10000));
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

TEST(JobRunner, ANewJobOfTheSameKindSupersedesTheRunningOne) {
    JobRunner runner;
    QSignalSpy cancelled(&runner, &JobRunner::cancelled);
    QSignalSpy succeeded(&runner, &JobRunner::succeeded);
    QSignalSpy idle(&runner, &JobRunner::idle);
    QSignalSpy started(&runner, &JobRunner::started);
    int result = 0;
    runner.submit(
        "eval 1", [](const JobContext& ctx) { spin(ctx); }, "evaluate");
    runner.submit(
        "eval 2", [&](const JobContext& ctx) { spin(ctx); }, "evaluate"); // queued one is dropped
    runner.submit(
        "eval 3", [&](const JobContext& ctx) { ctx.post([&] { result = 3; }); }, "evaluate");
    ASSERT_TRUE(idle.wait(15000));
    EXPECT_EQ(cancelled.count(), 1);
    EXPECT_EQ(cancelled.first().first().toString(), "eval 1");
    ASSERT_EQ(succeeded.count(), 1);
    EXPECT_EQ(succeeded.first().first().toString(), "eval 3");
    EXPECT_EQ(started.count(), 2);
    EXPECT_EQ(result, 3);
}

TEST(JobRunner, DestroyingTheRunnerStopsItsJob) {
    bool posted = false;
    {
        JobRunner runner;
        QSignalSpy progressed(&runner, &JobRunner::progressed);
        runner.submit("long", [&](const JobContext& ctx) {
            spin(ctx);
            ctx.post([&] { posted = true; });
        });
        ASSERT_TRUE(progressed.wait(10000));
    } // cancels and waits; nothing may arrive afterwards
    QCoreApplication::processEvents();
    EXPECT_FALSE(posted);
}

TEST(JobRunner, Durations) {
    EXPECT_EQ(formatDuration(4.4), "4 s");
    EXPECT_EQ(formatDuration(185), "3 min 5 s");
    EXPECT_EQ(formatDuration(3720), "1 h 2 min");
}

TEST(JobRunner, GuiStepsRunInTurnOnTheGuiThread) {
    JobRunner runner;
    QSignalSpy idle(&runner, &JobRunner::idle);
    std::vector<std::string> order;
    std::atomic<bool> workerRunning = false;
    bool overlapped = false, onGuiThread = false;
    runner.submit("first", [&](const JobContext& ctx) {
        workerRunning = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        ctx.post([&] { order.push_back("first"); });
        workerRunning = false;
    });
    runner.submitGuiStep("step", [&] {
        overlapped = workerRunning;
        onGuiThread = QThread::currentThread() == qApp->thread();
        order.push_back("step");
    });
    runner.submit("second", [&](const JobContext& ctx) { ctx.post([&] { order.push_back("second"); }); });
    ASSERT_TRUE(idle.wait(10000));
    EXPECT_EQ(order, (std::vector<std::string>{"first", "step", "second"}));
    EXPECT_FALSE(overlapped);
    EXPECT_TRUE(onGuiThread);
}

TEST(JobRunner, CancelKeepsTheStepsThatMustRun) {
    JobRunner runner;
    QSignalSpy idle(&runner, &JobRunner::idle);
    QSignalSpy progressed(&runner, &JobRunner::progressed);
    bool cleanup = false, dropped = false;
    runner.submit("long", [](const JobContext& ctx) { spin(ctx); });
    runner.submitGuiStep("dropped", [&] { dropped = true; });
    runner.submitGuiStep(
        "cleanup", [&] { cleanup = true; }, true);
    ASSERT_TRUE(progressed.wait(10000));
    runner.cancelAll();
    ASSERT_TRUE(idle.wait(10000));
    EXPECT_TRUE(cleanup);
    EXPECT_FALSE(dropped);
    // a step submitted while idle runs at once
    bool now = false;
    runner.submitGuiStep("now", [&] { now = true; });
    EXPECT_TRUE(now);
}
