#include "curve/pruning_curve_page.h"

#include "curve/line_chart.h"

#include "curve/pruning_curve_model.h"
#include "layer_map/importance_job.h"
#include "workspace/workspace.h"

#include <QChart>
#include <QChartView>
#include <QCheckBox>
#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace layerlab::ui {

PruningCurvePage::PruningCurvePage(Workspace* workspace, QWidget* parent)
    : QWidget(parent), workspace_(workspace), model_(new PruningCurveModel(this)),
      metrics_(new QListWidget(this)), unit_(new QComboBox(this)), maxUnits_(new QSpinBox(this)),
      tasks_(new QCheckBox(tr("Task accuracy"), this)), run_(new QPushButton(tr("Run curve"), this)),
      stop_(new QPushButton(tr("Stop"), this)), quantity_(new QComboBox(this)),
      logScale_(new QCheckBox(tr("Log scale"), this)), view_(new QChartView(this)),
      table_(new QTableView(this)) {
    metrics_->setToolTip(tr("One line per ticked metric. Scores already in the layer map are used as "
                            "they are; others are computed first (loss as the value function)."));
    metrics_->setMaximumHeight(6 * fontMetrics().height() + 12);
    unit_->addItem(tr("blocks"), static_cast<int>(Unit::Block));
    unit_->addItem(tr("attention sub-layers"), static_cast<int>(Unit::Attention));
    unit_->addItem(tr("FFN sub-layers"), static_cast<int>(Unit::Ffn));
    maxUnits_->setRange(1, 1024);
    maxUnits_->setValue(4);
    maxUnits_->setPrefix(tr("up to "));
    maxUnits_->setToolTip(tr("Remove k = 0, 1, ... up to this many units, the least important first, "
                             "and evaluate after each"));
    tasks_->setChecked(true);
    tasks_->setToolTip(tr("Also evaluate the task files after each removal (on the quick-evaluation "
                          "item sample)"));
    stop_->setEnabled(false);
    logScale_->setChecked(false);
    logScale_->setToolTip(tr("Logarithmic perplexity axis: removing many units multiplies it"));
    view_->setRenderHint(QPainter::Antialiasing);
    view_->setMinimumHeight(260);
    table_->setModel(model_);
    table_->verticalHeader()->hide();
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);

    auto* controls = new QGridLayout;
    controls->addWidget(new QLabel(tr("Metrics:"), this), 0, 0, Qt::AlignTop);
    controls->addWidget(metrics_, 0, 1, 3, 1);
    controls->addWidget(new QLabel(tr("Remove"), this), 0, 2);
    controls->addWidget(unit_, 0, 3);
    controls->addWidget(maxUnits_, 0, 4);
    controls->addWidget(tasks_, 1, 2, 1, 2);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(run_);
    buttons->addWidget(stop_);
    controls->addLayout(buttons, 1, 4);
    auto* chartControls = new QHBoxLayout;
    chartControls->addWidget(new QLabel(tr("Plot:"), this));
    chartControls->addWidget(quantity_);
    chartControls->addWidget(logScale_);
    auto* png = new QPushButton(tr("Export chart..."), this);
    auto* csv = new QPushButton(tr("Export CSV..."), this);
    chartControls->addWidget(png);
    chartControls->addWidget(csv);
    controls->addLayout(chartControls, 2, 2, 1, 3);
    controls->setColumnStretch(1, 1);

    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(view_);
    split->addWidget(table_);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    layout->addWidget(split, 1);

    connect(run_, &QPushButton::clicked, this, [this] { Q_EMIT runRequested(request()); });
    connect(stop_, &QPushButton::clicked, this, &PruningCurvePage::stopRequested);
    connect(png, &QPushButton::clicked, this, &PruningCurvePage::exportImageRequested);
    connect(csv, &QPushButton::clicked, this, &PruningCurvePage::exportCsvRequested);
    connect(quantity_, &QComboBox::currentIndexChanged, this, &PruningCurvePage::rebuildChart);
    connect(logScale_, &QCheckBox::toggled, this, &PruningCurvePage::rebuildChart);
    connect(model_, &QAbstractItemModel::modelReset, this, &PruningCurvePage::refreshQuantities);
    connect(model_, &QAbstractItemModel::rowsInserted, this, &PruningCurvePage::rebuildChart);
    connect(model_, &QAbstractItemModel::dataChanged, this, &PruningCurvePage::rebuildChart);
    connect(workspace_, &Workspace::scoresChanged, this, &PruningCurvePage::refreshMetrics);
    connect(workspace_, &Workspace::modelChanged, this, [this] {
        maxUnits_->setMaximum(std::max<int>(1, static_cast<int>(workspace_->numLayers())));
        model_->clear();
    });
    refreshMetrics();
    refreshQuantities();
}

void PruningCurvePage::refreshMetrics() {
    std::vector<std::string> names = knownMetrics();
    for (const auto& m : orderedMetrics(workspace_->scores()))
        if (std::find(names.begin(), names.end(), m) == names.end()) names.push_back(m);
    QStringList checked;
    for (int i = 0; i < metrics_->count(); ++i)
        if (metrics_->item(i)->checkState() == Qt::Checked) checked << metrics_->item(i)->text();
    if (metrics_->count() == 0) checked = {QStringLiteral("cosine"), QStringLiteral("drop_loss")};
    metrics_->clear();
    for (const auto& m : names) {
        auto* item = new QListWidgetItem(QString::fromStdString(m), metrics_);
        item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable);
        item->setCheckState(checked.contains(item->text()) ? Qt::Checked : Qt::Unchecked);
        if (m == "angular") item->setToolTip(tr("The best run of k consecutive blocks (blocks only)"));
    }
}

PruningCurveRequest PruningCurvePage::request() const {
    PruningCurveRequest r;
    for (int i = 0; i < metrics_->count(); ++i)
        if (metrics_->item(i)->checkState() == Qt::Checked)
            r.metrics.push_back(metrics_->item(i)->text().toStdString());
    r.unit = static_cast<Unit>(unit_->currentData().toInt());
    r.maxUnits = maxUnits_->value();
    r.tasks = tasks_->isChecked();
    return r;
}

void PruningCurvePage::setRequest(const PruningCurveRequest& r) {
    for (int i = 0; i < metrics_->count(); ++i) {
        const auto name = metrics_->item(i)->text().toStdString();
        const bool on = std::find(r.metrics.begin(), r.metrics.end(), name) != r.metrics.end();
        metrics_->item(i)->setCheckState(on ? Qt::Checked : Qt::Unchecked);
    }
    if (const int i = unit_->findData(static_cast<int>(r.unit)); i >= 0) unit_->setCurrentIndex(i);
    maxUnits_->setValue(static_cast<int>(r.maxUnits));
    tasks_->setChecked(r.tasks);
}

void PruningCurvePage::setRunning(bool on) {
    run_->setEnabled(!on);
    stop_->setEnabled(on);
}

int PruningCurvePage::quantity() const {
    return quantity_->currentData().isValid() ? quantity_->currentData().toInt()
                                              : PruningCurveModel::PerplexityColumn;
}

void PruningCurvePage::setQuantity(int column) {
    if (const int i = quantity_->findData(column); i >= 0) quantity_->setCurrentIndex(i);
}

void PruningCurvePage::refreshQuantities() {
    const int current = quantity();
    {
        const QSignalBlocker block(quantity_);
        quantity_->clear();
        for (int c : model_->quantityColumns())
            quantity_->addItem(model_->headerData(c, Qt::Horizontal).toString(), c);
        if (const int i = quantity_->findData(current); i >= 0) quantity_->setCurrentIndex(i);
    }
    rebuildChart();
}

QString PruningCurvePage::title() const {
    const auto& points = model_->points();
    const QString unit = points.empty() ? tr("units") : QString::fromLatin1(unitName(points.front().unit));
    return tr("%1 against %2 units removed")
        .arg(model_->headerData(quantity(), Qt::Horizontal).toString(), unit);
}

void PruningCurvePage::rebuildChart() {
    if (quantity_->count() != static_cast<int>(model_->quantityColumns().size())) {
        refreshQuantities();
        return;
    }
    const int column = quantity();
    logScale_->setEnabled(column == PruningCurveModel::PerplexityColumn);
    const bool log = logScale_->isChecked() && column == PruningCurveModel::PerplexityColumn;
    auto* old = view_->chart();
    view_->setChart(pruningCurveChart(*model_, column, log, title()));
    delete old;
}

QChart* pruningCurveChart(const PruningCurveModel& model, int column, bool log, const QString& title) {
    std::vector<ChartLine> lines;
    for (const auto& metric : model.metrics()) {
        const auto points = model.series(metric, column);
        lines.push_back({QString::fromStdString(metric), {points.begin(), points.end()}});
    }
    const auto& points = model.points();
    const QString yTitle = model.headerData(column, Qt::Horizontal).toString();
    const bool tasks = column >= PruningCurveModel::FirstTaskColumn;
    return lineChart(
        title, lines,
        {points.empty()
             ? QObject::tr("units removed")
             : QObject::tr("%1 units removed").arg(QString::fromLatin1(unitName(points.front().unit))),
         tasks ? yTitle + QObject::tr(" (fraction correct)") : yTitle, true, log,
         tasks ? QStringLiteral("%.2f") : QString()});
}

} // namespace layerlab::ui
