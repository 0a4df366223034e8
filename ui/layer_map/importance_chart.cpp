#include "layer_map/importance_chart.h"

#include "export/report_export.h"
#include "workspace/workspace.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLegendMarker>
#include <QLineSeries>
#include <QVBoxLayout>
#include <QValueAxis>

#include <algorithm>
#include <array>
#include <cmath>

namespace layerlab::ui {

namespace {

const std::array<std::pair<Unit, const char*>, 3> kUnits = {
    {{Unit::Block, "block"}, {Unit::Attention, "attn"}, {Unit::Ffn, "ffn"}}};

} // namespace

ImportanceChart::ImportanceChart(Workspace* workspace, QWidget* parent)
    : QWidget(parent), workspace_(workspace), metric_(new QComboBox(this)), view_(new QChartView(this)) {
    view_->setRenderHint(QPainter::Antialiasing);
    view_->setMinimumHeight(220);
    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Chart metric:"), this));
    top->addWidget(metric_);
    top->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(top);
    layout->addWidget(view_, 1);
    connect(metric_, &QComboBox::currentTextChanged, this, &ImportanceChart::rebuild);
    connect(workspace_, &Workspace::scoresChanged, this, &ImportanceChart::refreshMetrics);
    connect(workspace_, &Workspace::modelChanged, this, &ImportanceChart::refreshMetrics);
    refreshMetrics();
}

QString ImportanceChart::metric() const {
    return metric_->currentText();
}

void ImportanceChart::setMetric(const QString& metric) {
    if (const int i = metric_->findText(metric); i >= 0) metric_->setCurrentIndex(i);
}

QString ImportanceChart::title() const {
    if (metric().isEmpty()) return tr("Importance per layer");
    return tr("Importance per layer: %1 (higher = more important)").arg(metric());
}

void ImportanceChart::refreshMetrics() {
    const QString current = metric_->currentText();
    {
        const QSignalBlocker block(metric_);
        metric_->clear();
        for (const auto& m : orderedMetrics(workspace_->scores()))
            metric_->addItem(QString::fromStdString(m));
        if (const int i = metric_->findText(current); i >= 0) metric_->setCurrentIndex(i);
    }
    rebuild();
}

int layerLabelStep(int layers) {
    return layers <= kLabelEveryLayerUpTo ? 1 : layers <= 40 ? 2 : layers <= 100 ? 5 : 10;
}

QChart* importanceBarChart(const ScoreTable& table, const std::string& m, int layers, const QString& title) {
    auto* chart = new QChart;
    chart->setTitle(title);
    chart->legend()->setAlignment(Qt::AlignBottom);
    auto* series = new QBarSeries;
    double lo = 0, hi = 0;
    int sets = 0;
    for (const auto& [unit, name] : kUnits) {
        const auto& v = table.at(m, unit);
        if (v.empty()) continue;
        auto* set = new QBarSet(QString::fromLatin1(name));
        for (int l = 0; l < layers; ++l) {
            const double x = l < static_cast<int>(v.size()) ? v[l] : 0.0;
            *set << x;
            const auto* se = table.stdErrOf(m, unit);
            const double e = se && l < static_cast<int>(se->size()) ? (*se)[l] : 0.0;
            lo = std::min(lo, x - e);
            hi = std::max(hi, x + e);
        }
        series->append(set);
        ++sets;
    }
    chart->addSeries(series);
    auto* x = new QBarCategoryAxis;
    for (int l = 0; l < layers; ++l)
        x->append(QString::number(l));
    x->setTitleText(m == "angular" ? QObject::tr("first block of the run (n = %1)").arg(table.angularN)
                                   : QObject::tr("layer"));
    auto* y = new QValueAxis;
    y->setTitleText(m.empty() ? QObject::tr("score") : QString::fromStdString(m));
    if (hi <= lo) hi = lo + 1;
    y->setRange(lo, hi + 0.05 * (hi - lo));
    y->applyNiceNumbers();
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    series->attachAxis(x);
    series->attachAxis(y);
    // Past 32 layers one label per bar runs together (Llama-2-70B has 80): the category labels
    // give way to a value axis on the same [-0.5, n - 0.5] coordinates, labelled every 5th or
    // 10th layer at the bars' centres.
    if (layers > kLabelEveryLayerUpTo) {
        x->setLabelsVisible(false);
        x->setTitleVisible(false);
        x->setGridLineVisible(false);
        auto* numbers = new QValueAxis;
        numbers->setRange(-0.5, layers - 0.5);
        numbers->setTickType(QValueAxis::TicksDynamic);
        numbers->setTickAnchor(0);
        numbers->setTickInterval(layerLabelStep(layers));
        numbers->setLabelFormat(QStringLiteral("%d"));
        numbers->setTitleText(x->titleText());
        numbers->setGridLineVisible(false);
        chart->addAxis(numbers, Qt::AlignBottom);
    }

    // Standard-error whiskers: one short vertical line per bar, placed on the category axis'
    // [-0.5, n - 0.5] coordinates through a hidden value axis.
    if (sets > 0) {
        auto* whiskerX = new QValueAxis;
        whiskerX->setRange(-0.5, layers - 0.5);
        whiskerX->setVisible(false);
        chart->addAxis(whiskerX, Qt::AlignBottom);
        const double groupWidth = series->barWidth();
        int setIndex = 0;
        for (const auto& [unit, name] : kUnits) {
            const auto& v = table.at(m, unit);
            if (v.empty()) continue;
            if (const auto* se = table.stdErrOf(m, unit)) {
                const double offset = -groupWidth / 2 + groupWidth * (setIndex + 0.5) / sets;
                const int n = static_cast<int>(std::min(v.size(), se->size()));
                for (int l = 0; l < layers && l < n; ++l) {
                    auto* whisker = new QLineSeries;
                    whisker->append(l + offset, v[l] - (*se)[l]);
                    whisker->append(l + offset, v[l] + (*se)[l]);
                    whisker->setPen(QPen(Qt::black, 1.5));
                    chart->addSeries(whisker);
                    whisker->attachAxis(whiskerX);
                    whisker->attachAxis(y);
                }
            }
            ++setIndex;
        }
        // Whiskers are not series people pick: keep them out of the legend.
        for (auto* marker : chart->legend()->markers())
            if (qobject_cast<QLineSeries*>(marker->series())) marker->setVisible(false);
    }
    return chart;
}

void ImportanceChart::rebuild() {
    auto* old = view_->chart();
    view_->setChart(importanceBarChart(workspace_->scores(), metric().toStdString(),
                                       static_cast<int>(workspace_->numLayers()), title()));
    delete old;
}

QString ImportanceChart::saveCsv(const QString& path) const {
    const auto& table = workspace_->scores();
    const std::string m = metric().toStdString();
    QStringList header{QStringLiteral("layer")};
    std::vector<std::pair<const std::vector<double>*, const std::vector<double>*>> columns;
    for (const auto& [unit, name] : kUnits) {
        const auto& v = table.at(m, unit);
        if (v.empty()) continue;
        const auto* se = table.stdErrOf(m, unit);
        header << QStringLiteral("%1 %2").arg(metric(), QString::fromLatin1(name));
        if (se) header << QStringLiteral("%1 %2 stderr").arg(metric(), QString::fromLatin1(name));
        columns.emplace_back(&v, se);
    }
    QByteArray out = header.join(QLatin1Char(',')).toUtf8() + '\n';
    for (int64_t l = 0; l < workspace_->numLayers(); ++l) {
        QStringList row{QString::number(l)};
        for (const auto& [v, se] : columns) {
            row << (l < static_cast<int64_t>(v->size()) ? QString::number((*v)[l], 'g', 17) : QString());
            if (se)
                row << (l < static_cast<int64_t>(se->size()) ? QString::number((*se)[l], 'g', 17)
                                                             : QString());
        }
        out += row.join(QLatin1Char(',')).toUtf8() + '\n';
    }
    return saveText(path, out);
}

} // namespace layerlab::ui
