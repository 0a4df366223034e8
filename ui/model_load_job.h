#pragma once
// Loads a model on a worker thread through the core's progress/cancel interface and delivers
// the result (or the error text) back on the GUI thread.

#include <QObject>
#include <QString>

#include <memory>

#include "model.h"

namespace layerlab::ui {

class ModelLoadJob : public QObject {
    Q_OBJECT
public:
    explicit ModelLoadJob(QObject* parent = nullptr);
    ~ModelLoadJob() override;
    void start(const QString& dir, const LoadOptions& options);
    void cancel();
    bool running() const { return running_; }

Q_SIGNALS:
    void progressed(const QString& stage, qint64 done, qint64 total);
    void loaded(std::shared_ptr<layerlab::Model> model);
    void failed(const QString& message);
    void cancelled();

private:
    CancelToken token_;
    bool running_ = false;
};

} // namespace layerlab::ui
