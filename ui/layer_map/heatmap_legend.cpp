#include "layer_map/heatmap_legend.h"

#include "layer_map/heatmap_palette.h"

#include <QLinearGradient>
#include <QPainter>

namespace layerlab::ui {

HeatmapLegend::HeatmapLegend(QWidget* parent) : QWidget(parent) {
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

void HeatmapLegend::setRankView(bool on) {
    rankView_ = on;
    update();
}

QSize HeatmapLegend::sizeHint() const {
    return {520, fontMetrics().height() + 12};
}

void HeatmapLegend::paintEvent(QPaintEvent*) {
    QPainter p(this);
    const auto fm = fontMetrics();
    const int h = fm.height();
    const int y = (height() - h) / 2;
    int x = 4;
    const QString low = rankView_ ? tr("rank 1 (cut first)") : tr("least important");
    const QString high = rankView_ ? tr("last rank") : tr("most important (per column)");
    p.setPen(palette().color(QPalette::WindowText));
    p.drawText(x, y, fm.horizontalAdvance(low), h, Qt::AlignVCenter, low);
    x += fm.horizontalAdvance(low) + 6;
    const int ramp = 160;
    QLinearGradient g(x, 0, x + ramp, 0);
    for (int i = 0; i <= 8; ++i)
        g.setColorAt(i / 8.0, heatmapColor(i / 8.0));
    p.fillRect(QRect(x, y + 2, ramp, h - 4), g);
    x += ramp + 6;
    p.drawText(x, y, fm.horizontalAdvance(high), h, Qt::AlignVCenter, high);
    x += fm.horizontalAdvance(high) + 24;
    const QRect swatch(x, y + 2, 28, h - 4);
    p.fillRect(swatch, removedBackground());
    p.fillRect(swatch, removedHatch());
    x += 34;
    const QString removed = tr("removed unit");
    p.drawText(x, y, fm.horizontalAdvance(removed), h, Qt::AlignVCenter, removed);
}

} // namespace layerlab::ui
