#include "curve/line_chart.h"

#include <QChart>
#include <QLineSeries>
#include <QLogValueAxis>
#include <QValueAxis>

#include <algorithm>

namespace layerlab::ui {

QChart* lineChart(const QString& title, const std::vector<ChartLine>& lines, const LineChartAxes& axes) {
    auto* chart = new QChart;
    chart->setTitle(title);
    chart->legend()->setAlignment(Qt::AlignBottom);
    double lo = 0, hi = 0, maxX = 1;
    bool any = false;
    std::vector<QLineSeries*> series;
    for (const auto& l : lines) {
        auto* line = new QLineSeries;
        line->setName(l.name);
        line->setPointsVisible(true);
        for (const auto& p : l.points) {
            if (axes.logY && !(p.y() > 0)) continue;
            line->append(p);
            lo = any ? std::min(lo, p.y()) : p.y();
            hi = any ? std::max(hi, p.y()) : p.y();
            maxX = std::max(maxX, p.x());
            any = true;
        }
        chart->addSeries(line);
        series.push_back(line);
    }
    auto* x = new QValueAxis;
    x->setTitleText(axes.x);
    x->setRange(0, maxX);
    if (axes.wholeX) {
        x->setTickCount(static_cast<int>(std::min(maxX, 16.0)) + 1);
        x->setLabelFormat(QStringLiteral("%d"));
    } else {
        x->applyNiceNumbers();
    }
    chart->addAxis(x, Qt::AlignBottom);
    QAbstractAxis* y = nullptr;
    if (axes.logY) {
        auto* axis = new QLogValueAxis;
        axis->setBase(10);
        axis->setLabelFormat(QStringLiteral("%g"));
        axis->setMinorTickCount(8);
        if (any) axis->setRange(lo / 1.1, hi * 1.1);
        y = axis;
    } else {
        auto* axis = new QValueAxis;
        if (any) {
            const double pad = hi > lo ? 0.05 * (hi - lo) : 0.5;
            axis->setRange(lo - pad, hi + pad);
            axis->applyNiceNumbers();
        }
        if (!axes.yFormat.isEmpty()) axis->setLabelFormat(axes.yFormat);
        y = axis;
    }
    y->setTitleText(axes.y);
    chart->addAxis(y, Qt::AlignLeft);
    for (auto* line : series) {
        line->attachAxis(x);
        line->attachAxis(y);
    }
    return chart;
}

} // namespace layerlab::ui
