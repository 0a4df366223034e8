#include "model_load_job.h"

#include "error.h"

#include <QMetaObject>
#include <QPointer>
#include <QtConcurrent/QtConcurrent>

namespace layerlab::ui {

ModelLoadJob::ModelLoadJob(QObject* parent) : QObject(parent) {
    qRegisterMetaType<std::shared_ptr<layerlab::Model>>("std::shared_ptr<layerlab::Model>");
}

ModelLoadJob::~ModelLoadJob() {
    token_.cancel();
}

void ModelLoadJob::cancel() {
    token_.cancel();
}

void ModelLoadJob::start(const QString& dir, const LoadOptions& options) {
    token_ = CancelToken();
    running_ = true;
    QPointer<ModelLoadJob> self(this);
    const auto path = std::filesystem::path(dir.toStdString());
    CancelToken token = token_;
    (void)QtConcurrent::run([self, path, options, token] {
        auto deliver = [self](auto fn) {
            QMetaObject::invokeMethod(
                qApp,
                [self, fn] {
                    if (self) fn(self.data());
                },
                Qt::QueuedConnection);
        };
        Progress progress(
            [deliver](const ProgressInfo& p) {
                const auto stage = QString::fromStdString(p.stage);
                deliver([=](ModelLoadJob* j) { Q_EMIT j->progressed(stage, p.done, p.total); });
            },
            token);
        try {
            auto model = Model::load(path, options, progress);
            deliver([model](ModelLoadJob* j) {
                j->running_ = false;
                Q_EMIT j->loaded(model);
            });
        } catch (const Cancelled&) {
            deliver([](ModelLoadJob* j) {
                j->running_ = false;
                Q_EMIT j->cancelled();
            });
        } catch (const std::exception& e) {
            const auto msg = QString::fromStdString(e.what());
            deliver([msg](ModelLoadJob* j) {
                j->running_ = false;
                Q_EMIT j->failed(msg);
            });
        }
    });
}

} // namespace layerlab::ui
