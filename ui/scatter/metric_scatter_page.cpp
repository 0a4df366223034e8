#include "scatter/metric_scatter_page.h"

#include "scatter/metric_scatter_model.h"
#include "workspace/workspace.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScatterSeries>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace layerlab::ui {

namespace {

QString correlationText(double v) {
    return std::isnan(v) ? QStringLiteral("n/a") : QString::number(v, 'f', 3);
}

} // namespace

MetricScatterPage::MetricScatterPage(Workspace* workspace, QWidget* parent)
    : QWidget(parent), workspace_(workspace), model_(new MetricScatterModel(this)), x_(new QComboBox(this)),
      y_(new QComboBox(this)), unit_(new QComboBox(this)), view_(new QChartView(this)) {
    unit_->addItem(tr("block"), static_cast<int>(Unit::Block));
    unit_->addItem(tr("attn"), static_cast<int>(Unit::Attention));
    unit_->addItem(tr("ffn"), static_cast<int>(Unit::Ffn));
    view_->setRenderHint(QPainter::Antialiasing);
    auto* exportImage = new QPushButton(tr("Export chart..."), this);
    auto* exportCsv = new QPushButton(tr("Export CSV..."), this);
    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("X:"), this));
    top->addWidget(x_);
    top->addWidget(new QLabel(tr("Y:"), this));
    top->addWidget(y_);
    top->addWidget(new QLabel(tr("Granularity:"), this));
    top->addWidget(unit_);
    top->addStretch(1);
    top->addWidget(exportImage);
    top->addWidget(exportCsv);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(view_, 1);
    setToolTip(tr("Each point is a layer. Rank correlations near 1 mean the two metrics would "
                  "remove the same units first."));
    connect(exportImage, &QPushButton::clicked, this, &MetricScatterPage::exportImageRequested);
    connect(exportCsv, &QPushButton::clicked, this, &MetricScatterPage::exportCsvRequested);
    for (auto* box : {x_, y_, unit_})
        connect(box, &QComboBox::currentIndexChanged, this, &MetricScatterPage::rebuild);
    connect(workspace_, &Workspace::scoresChanged, this, &MetricScatterPage::refreshMetrics);
    connect(workspace_, &Workspace::modelChanged, this, &MetricScatterPage::refreshMetrics);
    refreshMetrics();
}

QString MetricScatterPage::title() const {
    if (x_->currentText().isEmpty() || y_->currentText().isEmpty())
        return tr("Metric vs metric (compute two metrics first)");
    return tr("%1 vs %2 (%3): Spearman rho %4, Kendall tau %5")
        .arg(y_->currentText(), x_->currentText(), unit_->currentText(), correlationText(model_->spearman()),
             correlationText(model_->kendall()));
}

void MetricScatterPage::choose(const QString& x, const QString& y, const QString& unit) {
    if (const int i = x_->findText(x); i >= 0) x_->setCurrentIndex(i);
    if (const int i = y_->findText(y); i >= 0) y_->setCurrentIndex(i);
    if (const int i = unit_->findText(unit); i >= 0) unit_->setCurrentIndex(i);
}

void MetricScatterPage::refreshMetrics() {
    const QString x = x_->currentText(), y = y_->currentText();
    {
        const QSignalBlocker bx(x_), by(y_);
        x_->clear();
        y_->clear();
        for (const auto& m : orderedMetrics(workspace_->scores())) {
            x_->addItem(QString::fromStdString(m));
            y_->addItem(QString::fromStdString(m));
        }
        if (const int i = x_->findText(x); i >= 0) x_->setCurrentIndex(i);
        if (const int i = y_->findText(y); i >= 0)
            y_->setCurrentIndex(i);
        else if (y_->count() > 1)
            y_->setCurrentIndex(1);
    }
    rebuild();
}

void MetricScatterPage::rebuild() {
    const auto unit = static_cast<Unit>(unit_->currentData().toInt());
    model_->setData(workspace_->scores(), x_->currentText().toStdString(), y_->currentText().toStdString(),
                    unit);
    auto* chart = new QChart;
    chart->setTitle(title());
    chart->legend()->hide();
    auto* series = new QScatterSeries;
    series->setMarkerSize(9);
    double xlo = 0, xhi = 1, ylo = 0, yhi = 1;
    for (int r = 0; r < model_->rowCount(); ++r) {
        const double x = model_->index(r, MetricScatterModel::XColumn).data().toDouble();
        const double y = model_->index(r, MetricScatterModel::YColumn).data().toDouble();
        if (r == 0) {
            xlo = xhi = x;
            ylo = yhi = y;
        }
        xlo = std::min(xlo, x);
        xhi = std::max(xhi, x);
        ylo = std::min(ylo, y);
        yhi = std::max(yhi, y);
        series->append(x, y);
    }
    chart->addSeries(series);
    auto axis = [](const QString& title, double lo, double hi) {
        auto* a = new QValueAxis;
        a->setTitleText(title);
        const double pad = std::max(1e-9, 0.05 * (hi - lo));
        a->setRange(lo - pad, hi + pad);
        return a;
    };
    auto* xAxis =
        axis(x_->currentText() + QStringLiteral(" (") + unit_->currentText() + QLatin1Char(')'), xlo, xhi);
    auto* yAxis =
        axis(y_->currentText() + QStringLiteral(" (") + unit_->currentText() + QLatin1Char(')'), ylo, yhi);
    chart->addAxis(xAxis, Qt::AlignBottom);
    chart->addAxis(yAxis, Qt::AlignLeft);
    series->attachAxis(xAxis);
    series->attachAxis(yAxis);
    auto* old = view_->chart();
    view_->setChart(chart);
    delete old;
}

} // namespace layerlab::ui
