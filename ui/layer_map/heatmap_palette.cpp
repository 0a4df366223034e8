#include "layer_map/heatmap_palette.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace layerlab::ui {

QColor heatmapColor(double t) {
    // Viridis at 9 stops, read from dark (high importance) to light (low importance).
    static const std::array<QColor, 9> stops = {
        QColor(0xfd, 0xe7, 0x25), QColor(0xa0, 0xda, 0x39), QColor(0x4a, 0xc1, 0x6d),
        QColor(0x1f, 0xa1, 0x87), QColor(0x27, 0x7f, 0x8e), QColor(0x36, 0x5c, 0x8d),
        QColor(0x46, 0x33, 0x7e), QColor(0x44, 0x01, 0x54), QColor(0x30, 0x00, 0x40)};
    if (!std::isfinite(t)) t = 0;
    t = std::clamp(t, 0.0, 1.0) * (stops.size() - 1);
    const auto i = std::min(static_cast<size_t>(t), stops.size() - 2);
    const double f = t - static_cast<double>(i);
    const auto& a = stops[i];
    const auto& b = stops[i + 1];
    return QColor::fromRgbF(static_cast<float>(a.redF() + f * (b.redF() - a.redF())),
                            static_cast<float>(a.greenF() + f * (b.greenF() - a.greenF())),
                            static_cast<float>(a.blueF() + f * (b.blueF() - a.blueF())));
}

QColor textColorOn(const QColor& background) {
    const double luminance =
        0.299 * background.redF() + 0.587 * background.greenF() + 0.114 * background.blueF();
    return luminance > 0.55 ? QColor(Qt::black) : QColor(Qt::white);
}

QColor removedBackground() {
    return QColor(0xd8, 0xd8, 0xd8);
}

QBrush removedHatch() {
    return QBrush(QColor(0x80, 0x80, 0x80), Qt::BDiagPattern);
}

} // namespace layerlab::ui
