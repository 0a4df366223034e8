#include "recovery/recovery_panel.h"

#include "recovery/loss_curve_model.h"
#include "workspace/workspace.h"

#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QLabel>
#include <QLineSeries>
#include <QPushButton>
#include <QSpinBox>
#include <QVXYModelMapper>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace layerlab::ui {

RecoveryPanel::RecoveryPanel(Workspace* workspace, QWidget* parent)
    : QWidget(parent), workspace_(workspace), method_(new QComboBox(this)), rank_(new QSpinBox(this)),
      ridge_(new QDoubleSpinBox(this)), steps_(new QSpinBox(this)), learningRate_(new QDoubleSpinBox(this)),
      loraRank_(new QSpinBox(this)), fit_(new QPushButton(tr("Fit adapters"), this)),
      remove_(new QPushButton(tr("Remove adapters"), this)), save_(new QPushButton(tr("Save..."), this)),
      installed_(new QLabel(this)), result_(new QLabel(this)), curve_(new LossCurveModel(this)),
      chartView_(new QChartView(this)) {
    method_->addItem(tr("bias (mean update)"), static_cast<int>(RecoveryMethod::Bias));
    method_->addItem(tr("low-rank map"), static_cast<int>(RecoveryMethod::LowRank));
    method_->addItem(tr("fold-linear map"), static_cast<int>(RecoveryMethod::FoldLinear));
    method_->addItem(tr("learned bias"), static_cast<int>(RecoveryMethod::LearnedBias));
    method_->addItem(tr("learned low-rank map"), static_cast<int>(RecoveryMethod::LearnedLowRank));
    method_->addItem(tr("LoRA on the kept layers"), static_cast<int>(RecoveryMethod::Lora));
    method_->setToolTip(tr("bias: each removed unit's mean update over the calibration tokens.\n"
                           "low-rank: h -> B A x + b fitted by ridge least squares, truncated to the rank.\n"
                           "fold-linear: for each run of removed blocks, a linear map of the FFN output\n"
                           "of the block before it, folded into that FFN's down_proj on export, which\n"
                           "then writes a plain checkpoint (whole blocks only).\n"
                           "learned: the same, started from the fit and trained with AdamW on the\n"
                           "next-token loss with the units removed.\n"
                           "LoRA: low-rank corrections of the kept layers' projections, trained alone."));
    steps_->setRange(1, 1000000);
    steps_->setValue(100);
    steps_->setPrefix(tr("steps "));
    learningRate_->setDecimals(6);
    learningRate_->setRange(1e-6, 1);
    learningRate_->setSingleStep(1e-4);
    learningRate_->setValue(1e-3);
    learningRate_->setPrefix(tr("lr "));
    loraRank_->setRange(0, 4096);
    loraRank_->setValue(0);
    loraRank_->setPrefix(tr("+LoRA rank "));
    loraRank_->setSpecialValueText(tr("no LoRA"));
    loraRank_->setToolTip(tr("Also train LoRA corrections of this rank on the kept layers' projections"));

    auto* chart = new QChart;
    chart->setTitle(tr("Adapter training loss"));
    chart->legend()->hide();
    auto* series = new QLineSeries;
    chart->addSeries(series);
    auto* x = new QValueAxis;
    x->setTitleText(tr("step"));
    x->setLabelFormat(QStringLiteral("%d"));
    auto* y = new QValueAxis;
    y->setTitleText(tr("loss (nats per token)"));
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    series->attachAxis(x);
    series->attachAxis(y);
    auto* mapper = new QVXYModelMapper(this);
    mapper->setXColumn(LossCurveModel::StepColumn);
    mapper->setYColumn(LossCurveModel::LossColumn);
    mapper->setSeries(series);
    mapper->setModel(curve_);
    chartView_->setChart(chart);
    chartView_->setRenderHint(QPainter::Antialiasing);
    chartView_->setMinimumHeight(180);
    chartView_->setVisible(false);
    connect(curve_, &QAbstractItemModel::rowsInserted, this, &RecoveryPanel::rescaleChart);
    connect(curve_, &QAbstractItemModel::modelReset, this, &RecoveryPanel::rescaleChart);
    auto* exportImage = new QPushButton(tr("Export chart..."), this);
    auto* exportCsv = new QPushButton(tr("Export CSV..."), this);
    connect(exportImage, &QPushButton::clicked, this, &RecoveryPanel::exportCurveImageRequested);
    connect(exportCsv, &QPushButton::clicked, this, &RecoveryPanel::exportCurveCsvRequested);
    rank_->setRange(1, 65536);
    rank_->setValue(16);
    rank_->setPrefix(tr("rank "));
    ridge_->setDecimals(6);
    ridge_->setRange(0, 10);
    ridge_->setSingleStep(1e-4);
    ridge_->setValue(1e-4);
    ridge_->setPrefix(tr("ridge "));
    ridge_->setToolTip(tr("Ridge strength relative to the mean variance of the unit's input"));
    fit_->setToolTip(tr("Fit adapters for every removed unit on the calibration sample and install them"));
    save_->setToolTip(
        tr("Save the installed adapters as safetensors (layerlab-cli --adapters FILE loads them)"));
    setToolTip(tr("Adapters stand in for removed units. They stay in the model when the removal set "
                  "changes, but each acts only while its unit is removed; units with one are marked "
                  "'A' in the layer map."));
    installed_->setWordWrap(true);
    result_->setWordWrap(true);
    result_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* grid = new QGridLayout(this);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->addWidget(method_, 0, 0);
    grid->addWidget(rank_, 0, 1);
    grid->addWidget(ridge_, 0, 2);
    grid->addWidget(steps_, 1, 0);
    grid->addWidget(learningRate_, 1, 1);
    grid->addWidget(loraRank_, 1, 2);
    grid->addWidget(fit_, 2, 0);
    grid->addWidget(remove_, 2, 1);
    grid->addWidget(save_, 2, 2);
    grid->addWidget(installed_, 3, 0, 1, 3);
    grid->addWidget(result_, 4, 0, 1, 3);
    grid->addWidget(chartView_, 5, 0, 1, 3);
    grid->addWidget(exportImage, 6, 1);
    grid->addWidget(exportCsv, 6, 2);
    connect(curve_, &QAbstractItemModel::rowsInserted, exportImage, [=, this] {
        chartView_->setVisible(true);
        exportImage->setEnabled(true);
        exportCsv->setEnabled(true);
    });
    connect(curve_, &QAbstractItemModel::modelReset, exportImage, [=, this] {
        const bool any = curve_->rowCount() > 0;
        chartView_->setVisible(any);
        exportImage->setEnabled(any);
        exportCsv->setEnabled(any);
    });
    exportImage->setEnabled(false);
    exportCsv->setEnabled(false);

    connect(method_, &QComboBox::currentIndexChanged, this, &RecoveryPanel::refresh);
    connect(fit_, &QPushButton::clicked, this, [this] { Q_EMIT fitRequested(request()); });
    connect(remove_, &QPushButton::clicked, this, &RecoveryPanel::removeRequested);
    connect(save_, &QPushButton::clicked, this, &RecoveryPanel::saveRequested);
    connect(workspace_, &Workspace::adaptersChanged, this, &RecoveryPanel::refresh);
    connect(workspace_, &Workspace::maskChanged, this, &RecoveryPanel::refresh);
    connect(workspace_, &Workspace::modelChanged, this, [this] {
        rank_->setMaximum(std::max<int>(1, static_cast<int>(workspace_->summary().config.hiddenSize)));
        result_->clear();
        results_ = nlohmann::json::array();
        refresh();
    });
    refresh();
}

RecoveryRequest RecoveryPanel::request() const {
    RecoveryRequest r;
    r.method = static_cast<RecoveryMethod>(method_->currentData().toInt());
    r.rank = rank_->value();
    r.ridge = ridge_->value();
    r.steps = steps_->value();
    r.learningRate = learningRate_->value();
    r.loraRank = r.method == RecoveryMethod::Lora ? 0 : loraRank_->value();
    if (r.trained()) r.batchSize = 4;
    return r;
}

void RecoveryPanel::setRequest(const RecoveryRequest& r) {
    method_->setCurrentIndex(method_->findData(static_cast<int>(r.method)));
    rank_->setValue(static_cast<int>(r.rank));
    ridge_->setValue(r.ridge);
    steps_->setValue(static_cast<int>(r.steps));
    learningRate_->setValue(r.learningRate);
    loraRank_->setValue(static_cast<int>(r.loraRank));
}

void RecoveryPanel::addTrainingStep(int64_t step, double loss) {
    curve_->addStep(step, loss);
}

void RecoveryPanel::clearLossCurve() {
    curve_->clear();
}

void RecoveryPanel::rescaleChart() {
    auto axes = chartView_->chart()->axes();
    if (axes.size() < 2 || curve_->rowCount() == 0) return;
    const auto [lo, hi] = curve_->lossRange();
    const double pad = std::max(1e-3, 0.05 * (hi - lo));
    static_cast<QValueAxis*>(axes[0])->setRange(1, std::max(2, curve_->rowCount()));
    static_cast<QValueAxis*>(axes[1])->setRange(lo - pad, hi + pad);
}

void RecoveryPanel::refresh() {
    const auto method = static_cast<RecoveryMethod>(method_->currentData().toInt());
    RecoveryRequest asked;
    asked.method = method;
    const bool trained = asked.trained();
    rank_->setEnabled(method != RecoveryMethod::Bias && method != RecoveryMethod::LearnedBias &&
                      method != RecoveryMethod::FoldLinear);
    rank_->setPrefix(method == RecoveryMethod::Lora ? tr("LoRA rank ") : tr("rank "));
    steps_->setEnabled(trained);
    learningRate_->setEnabled(trained);
    loraRank_->setEnabled(method == RecoveryMethod::LearnedBias || method == RecoveryMethod::LearnedLowRank);
    fit_->setText(trained ? tr("Train adapters") : tr("Fit adapters"));
    fit_->setEnabled(workspace_->hasModel() && !workspace_->mask().empty());
    const auto& units = workspace_->adapterUnits();
    remove_->setEnabled(!units.empty());
    save_->setEnabled(!units.empty());
    if (units.empty()) {
        installed_->setText(workspace_->mask().empty() ? tr("Remove units first, then fit adapters for them.")
                                                       : tr("No adapters installed."));
        return;
    }
    QStringList names;
    int acting = 0;
    for (const auto& u : units) {
        names << QStringLiteral("%1:%2").arg(QString::fromLatin1(unitName(u.unit))).arg(u.layer);
        if (workspace_->mask().isRemoved(u.unit, u.layer)) ++acting;
    }
    installed_->setText(tr("Adapters installed: %1 (%2 acting: only removed units use theirs)")
                            .arg(names.join(QStringLiteral(", ")))
                            .arg(acting));
}

void RecoveryPanel::showResult(const RecoveryResult& r) {
    const auto part = [](double loss) {
        return nlohmann::json{{"loss", loss}, {"perplexity", std::exp(loss)}};
    };
    results_.push_back({{"removed", r.mask.toSpec()},
                        {"method", r.method},
                        {"full", part(r.fullLoss)},
                        {"removed_only", part(r.removedLoss)},
                        {"recovered", part(r.recoveredLoss)},
                        {"windows", r.windows},
                        {"tokens", r.tokens}});
    auto line = [](const QString& what, double loss) {
        return QStringLiteral("%1: loss %2, perplexity %3")
            .arg(what)
            .arg(loss, 0, 'f', 4)
            .arg(std::exp(loss), 0, 'f', 2);
    };
    result_->setText(tr("%1 for %2 (%3 adapters, made in %4 s), on %5 windows:")
                         .arg(QString::fromStdString(r.method), QString::fromStdString(r.mask.toSpec()))
                         .arg(r.adapters)
                         .arg(r.fitSeconds, 0, 'f', 1)
                         .arg(r.windows) +
                     QLatin1Char('\n') + line(tr("full model"), r.fullLoss) + QLatin1Char('\n') +
                     line(tr("removed"), r.removedLoss) + QLatin1Char('\n') +
                     line(tr("recovered"), r.recoveredLoss) +
                     (r.dropped.empty() ? QString()
                                        : tr("\nNot kept (made the calibration loss worse): %1")
                                              .arg(QString::fromStdString(r.dropped))));
}

nlohmann::json RecoveryPanel::sessionRecord() const {
    if (result_->text().isEmpty() && results_.empty()) return nullptr;
    return {{"text", result_->text().toStdString()}, {"results", results_}};
}

void RecoveryPanel::restoreSessionRecord(const nlohmann::json& record) {
    if (!record.is_object()) return;
    if (record.contains("text") && record["text"].is_string())
        result_->setText(QString::fromStdString(record["text"].get<std::string>()));
    if (record.contains("results") && record["results"].is_array()) results_ = record["results"];
}

QString RecoveryPanel::resultText() const {
    return result_->text();
}

} // namespace layerlab::ui
