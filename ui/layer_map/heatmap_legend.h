#pragma once
// The layer map's legend: the colour ramp (each column scaled to its own range, or to ranks in
// the rank view) and the look of a removed unit.

#include <QWidget>

namespace layerlab::ui {

class HeatmapLegend : public QWidget {
    Q_OBJECT
public:
    explicit HeatmapLegend(QWidget* parent = nullptr);
    void setRankView(bool on);
    QSize sizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    bool rankView_ = false;
};

} // namespace layerlab::ui
