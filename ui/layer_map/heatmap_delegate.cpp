#include "layer_map/heatmap_delegate.h"

#include "layer_map/heatmap_palette.h"
#include "layer_map/layer_map_model.h"

#include <QPainter>

#include <algorithm>

namespace layerlab::ui {

namespace {

// A small "A" in the top-left corner: the unit has an adapter installed.
void paintAdapterBadge(QPainter* painter, const QStyleOptionViewItem& option, const QModelIndex& index) {
    if (!index.data(LayerMapModel::AdapterRole).toBool()) return;
    painter->save();
    QFont font = option.font;
    font.setBold(true);
    font.setPointSizeF(std::max(6.0, font.pointSizeF() * 0.7));
    painter->setFont(font);
    const int side = QFontMetrics(font).height();
    const QRect badge(option.rect.left() + 1, option.rect.top() + 1, side, side);
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setPen(Qt::NoPen);
    painter->setBrush(QColor(0x1b, 0x5e, 0x9e));
    painter->drawRoundedRect(badge, 3, 3);
    painter->setPen(Qt::white);
    painter->drawText(badge, Qt::AlignCenter, QStringLiteral("A"));
    painter->restore();
}

} // namespace

void HeatmapDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option,
                            const QModelIndex& index) const {
    const bool removed = index.data(LayerMapModel::RemovedRole).toBool();
    const QVariant normalized = index.data(LayerMapModel::NormalizedRole);
    const bool heat = normalized.isValid() && normalized.toDouble() >= 0;
    if (!heat) {
        if (removed && index.column() != LayerMapModel::LayerColumn) {
            painter->fillRect(option.rect, removedBackground());
            painter->fillRect(option.rect, removedHatch());
        }
        QStyledItemDelegate::paint(painter, option, index);
        paintAdapterBadge(painter, option, index);
        return;
    }
    painter->save();
    const QColor background = removed ? removedBackground() : heatmapColor(normalized.toDouble());
    painter->fillRect(option.rect, background);
    if (removed) painter->fillRect(option.rect, removedHatch());
    QFont font = option.font;
    font.setStrikeOut(removed);
    painter->setFont(font);
    painter->setPen(removed ? QColor(0x50, 0x50, 0x50) : textColorOn(background));
    painter->drawText(option.rect.adjusted(4, 0, -4, 0), Qt::AlignRight | Qt::AlignVCenter,
                      index.data(Qt::DisplayRole).toString());
    if (option.state & QStyle::State_Selected) {
        painter->setPen(QPen(option.palette.highlight(), 2));
        painter->drawRect(option.rect.adjusted(1, 1, -1, -1));
    }
    painter->restore();
    paintAdapterBadge(painter, option, index);
}

QSize HeatmapDelegate::sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const {
    auto s = QStyledItemDelegate::sizeHint(option, index);
    return {std::max(s.width() + 8, 64), s.height()};
}

} // namespace layerlab::ui
