#pragma once
// The layer map's colour scale (viridis, light = low importance, dark = high) and the look of
// removed units, shared by the delegate, the legend and exports.

#include <QBrush>
#include <QColor>

namespace layerlab::ui {

// t in [0, 1]: 0 = the column's least important value, 1 = its most important.
QColor heatmapColor(double t);
// Text colour readable on the given background.
QColor textColorOn(const QColor& background);
// Removed units: grey with diagonal hatching.
QColor removedBackground();
QBrush removedHatch();

} // namespace layerlab::ui
