#include "main_window.h"

#include "device.h"
#include "model_load_job.h"

#include <QAction>
#include <QFileDialog>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QPushButton>
#include <QStatusBar>
#include <QTextBrowser>
#include <QToolBar>

namespace layerlab::ui {

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent), loadJob_(new ModelLoadJob(this)), info_(new QTextBrowser(this)),
      progress_(new QProgressBar(this)), status_(new QLabel(this)),
      cancel_(new QPushButton(tr("Cancel"), this)) {
    setWindowTitle(tr("LayerLab"));
    resize(1100, 720);
    setCentralWidget(info_);
    info_->setHtml(tr("<h2>LayerLab</h2><p>Open a Hugging Face model folder (File &gt; Open model).</p>"));

    auto* open = new QAction(tr("&Open model..."), this);
    open->setShortcut(QKeySequence::Open);
    connect(open, &QAction::triggered, this, &MainWindow::chooseModel);
    auto* quit = new QAction(tr("&Quit"), this);
    quit->setShortcut(QKeySequence::Quit);
    connect(quit, &QAction::triggered, this, &QWidget::close);
    auto* file = menuBar()->addMenu(tr("&File"));
    file->addAction(open);
    file->addSeparator();
    file->addAction(quit);
    addToolBar(tr("Main"))->addAction(open);

    statusBar()->addWidget(status_, 1);
    statusBar()->addPermanentWidget(progress_);
    statusBar()->addPermanentWidget(cancel_);
    setBusy(false);
    connect(cancel_, &QPushButton::clicked, loadJob_, &ModelLoadJob::cancel);
    connect(loadJob_, &ModelLoadJob::progressed, this,
            [this](const QString& stage, qint64 done, qint64 total) {
                status_->setText(stage);
                progress_->setRange(0, static_cast<int>(total));
                progress_->setValue(static_cast<int>(done));
            });
    connect(loadJob_, &ModelLoadJob::loaded, this, &MainWindow::showModel);
    connect(loadJob_, &ModelLoadJob::failed, this, [this](const QString& msg) {
        setBusy(false);
        status_->setText(tr("Loading failed"));
        QMessageBox::warning(this, tr("Cannot open model"), msg);
    });
    connect(loadJob_, &ModelLoadJob::cancelled, this, [this] {
        setBusy(false);
        status_->setText(tr("Loading stopped"));
    });
}

void MainWindow::chooseModel() {
    const auto dir = QFileDialog::getExistingDirectory(this, tr("Open a Hugging Face model folder"));
    if (!dir.isEmpty()) openModel(dir);
}

void MainWindow::openModel(const QString& dir) {
    if (loadJob_->running()) return;
    setBusy(true);
    status_->setText(tr("Opening %1").arg(dir));
    loadJob_->start(dir, LoadOptions{});
}

void MainWindow::setBusy(bool busy) {
    progress_->setVisible(busy);
    cancel_->setVisible(busy);
}

void MainWindow::showModel(std::shared_ptr<Model> model) {
    setBusy(false);
    model_ = std::move(model);
    const auto& c = model_->config();
    const auto p = model_->parameterCounts();
    QString html =
        tr("<h2>%1</h2><table>").arg(QString::fromStdString(model_->dir().string()).toHtmlEscaped());
    auto row = [&](const QString& k, const QString& v) {
        html += "<tr><td><b>" + k + "</b></td><td>" + v + "</td></tr>";
    };
    row(tr("Architecture"), architectureName(c.architecture));
    row(tr("Layers"), QString::number(c.numLayers));
    row(tr("Hidden / FFN"), QString("%1 / %2").arg(c.hiddenSize).arg(c.intermediateSize));
    row(tr("Heads"), QString("%1 x %2, %3 KV").arg(c.numHeads).arg(c.headDim).arg(c.numKvHeads));
    row(tr("Parameters"), QLocale().toString(static_cast<qlonglong>(p.total)));
    row(tr("Per block"), tr("%1 (attention %2, FFN %3)")
                             .arg(QLocale().toString(static_cast<qlonglong>(p.block(0))))
                             .arg(QLocale().toString(static_cast<qlonglong>(p.attention[0])))
                             .arg(QLocale().toString(static_cast<qlonglong>(p.ffn[0]))));
    row(tr("Dtype"), QString::fromStdString((c.dtype.empty() ? "?" : c.dtype) + " stored, " +
                                            dtypeName(model_->dtype()) + " on " + model_->device().str()));
    html += "</table>";
    info_->setHtml(html);
    status_->setText(tr("Ready"));
}

} // namespace layerlab::ui
