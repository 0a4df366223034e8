#pragma once
// Lines of points over a value axis, the y axis linear (padded, nice numbers) or log10: the
// workbench's pruning curves and the report's comparisons at equal parameter savings.

#include <QPointF>
#include <QString>

#include <vector>

class QChart;

namespace layerlab::ui {

struct ChartLine {
    QString name;
    std::vector<QPointF> points; // by x
};

struct LineChartAxes {
    QString x, y;        // titles
    bool wholeX = false; // x counts something: ticks on whole numbers, from 0
    bool logY = false;   // points with y <= 0 are left out then
    QString yFormat;     // label format of a linear y axis ("" = Qt's)
};

QChart* lineChart(const QString& title, const std::vector<ChartLine>& lines, const LineChartAxes& axes);

} // namespace layerlab::ui
