#pragma once
// Paints the layer map's metric cells as a heatmap (colour from LayerMapModel::NormalizedRole)
// and every removed unit (RemovedRole) grey and hatched with its text struck through, so the
// removal set stands out in any colour scale.

#include <QStyledItemDelegate>

namespace layerlab::ui {

class HeatmapDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter* painter, const QStyleOptionViewItem& option,
               const QModelIndex& index) const override;
    QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;
};

} // namespace layerlab::ui
