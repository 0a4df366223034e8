#include "layer_map/layer_map_page.h"

#include "layer_map/heatmap_delegate.h"
#include "layer_map/heatmap_legend.h"
#include "layer_map/layer_map_model.h"
#include "workspace/workspace.h"

#include <QCheckBox>
#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSortFilterProxyModel>
#include <QSpinBox>
#include <QTableView>
#include <QVBoxLayout>

namespace layerlab::ui {

LayerMapPage::LayerMapPage(Workspace* workspace, QWidget* parent)
    : QWidget(parent), model_(new LayerMapModel(workspace, this)), proxy_(new QSortFilterProxyModel(this)),
      view_(new QTableView(this)), legend_(new HeatmapLegend(this)), angularN_(new QSpinBox(this)),
      value_(new QComboBox(this)), rankView_(new QCheckBox(tr("Rank view"), this)),
      compute_(new QPushButton(tr("Compute importance"), this)) {
    // Three checkboxes per row, so that the page fits beside both docks on a 1366-pixel screen.
    auto* controls = new QGridLayout;
    constexpr int kPerRow = 3;
    int metricIndex = 0, normIndex = 0;
    const int normRow0 = 2;
    controls->addWidget(new QLabel(tr("Metrics:"), this), 0, 0);
    controls->addWidget(new QLabel(tr("Update norms:"), this), normRow0, 0);
    const std::vector<std::pair<std::string, QString>> tips = {
        {"cosine", tr("1 - cos(input, output) of each unit; one forward pass")},
        {"angular", tr("angular distance between the residual stream n blocks apart (block runs)")},
        {"drop_loss", tr("value change with only that unit removed; one pass per unit")},
        {"taylor", tr("first-order Taylor estimate |sum w dL/dw| (and taylor_abs); one backward pass")},
        {"shapley", tr("Shapley value of each unit (exact up to 12 layers, else Monte Carlo)")},
        {"present_absent", tr("mean value of random sub-networks (half the units) with the unit minus "
                              "without it: the paper's reference estimate")},
        {"l1_update", tr("mean L1 norm of the unit's update to the residual stream (same pass as cosine)")},
        {"l2_update", tr("mean L2 norm of the unit's update (same pass as cosine)")},
        {"rel_l1_update", tr("L1 norm of the update over that of its input (same pass as cosine)")},
        {"rel_l2_update", tr("L2 norm of the update over that of its input (same pass as cosine)")}};
    for (const auto& [name, tip] : tips) {
        const bool norm = name.find("_update") != std::string::npos;
        auto* box = new QCheckBox(QString::fromStdString(name), this);
        box->setToolTip(tip);
        box->setChecked(name == "cosine");
        metrics_.emplace_back(name, box);
        QWidget* cell = box;
        if (name == "angular") {
            angularN_->setRange(1, 64);
            angularN_->setValue(2);
            angularN_->setPrefix(tr("n="));
            angularN_->setToolTip(tr("Blocks per run for the angular distance"));
            cell = new QWidget(this);
            auto* pair = new QHBoxLayout(cell);
            pair->setContentsMargins(0, 0, 0, 0);
            pair->addWidget(box);
            pair->addWidget(angularN_);
            pair->addStretch(1);
        }
        int& index = norm ? normIndex : metricIndex;
        controls->addWidget(cell, (norm ? normRow0 : 0) + index / kPerRow, 1 + index % kPerRow);
        ++index;
    }
    const int lastRow = normRow0 + (normIndex + kPerRow - 1) / kPerRow;
    controls->addWidget(new QLabel(tr("Value function:"), this), lastRow, 0);
    for (const auto& v : valueFunctionNames())
        value_->addItem(QString::fromStdString(v));
    value_->setToolTip(tr("What drop_loss, shapley and present_absent measure a masked model by: its loss, "
                          "the L2 distance of its logits to the full model's, the KL divergence from the "
                          "full model, or the loss on the right answers of the first task file. Scores "
                          "other than the loss are named drop_kl, shapley_logit_l2, ..."));
    controls->addWidget(value_, lastRow, 1);
    controls->addWidget(compute_, lastRow, 2);
    controls->addWidget(rankView_, lastRow, 3);
    controls->setColumnStretch(kPerRow + 1, 1);
    rankView_->setToolTip(tr("Show each column's ranks (1 = least important) instead of values"));

    proxy_->setSourceModel(model_);
    proxy_->setSortRole(LayerMapModel::SortRole);
    view_->setModel(proxy_);
    view_->setItemDelegate(new HeatmapDelegate(view_));
    view_->setSortingEnabled(true);
    view_->sortByColumn(LayerMapModel::LayerColumn, Qt::AscendingOrder);
    view_->verticalHeader()->hide();
    view_->verticalHeader()->setDefaultSectionSize(fontMetrics().height() + 6);
    view_->setSelectionMode(QAbstractItemView::SingleSelection);
    view_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    view_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    view_->setToolTip(tr("Click a metric cell or a checkbox to switch that unit off or on."));

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(controls);
    layout->addWidget(view_, 1);
    layout->addWidget(legend_);

    connect(view_, &QTableView::clicked, this,
            [this](const QModelIndex& index) { model_->toggleAt(proxy_->mapToSource(index)); });
    connect(rankView_, &QCheckBox::toggled, this, [this](bool on) {
        model_->setRankView(on);
        legend_->setRankView(on);
        proxy_->invalidate();
    });
    connect(compute_, &QPushButton::clicked, this, [this] { Q_EMIT computeRequested(request()); });
}

ImportanceJobRequest LayerMapPage::request() const {
    ImportanceJobRequest r;
    for (const auto& [name, box] : metrics_)
        if (box->isChecked()) r.metrics.push_back(name);
    r.angularN = angularN_->value();
    r.valueFunction = value_->currentText().toStdString();
    return r;
}

void LayerMapPage::setValueFunction(const std::string& name) {
    if (const int i = value_->findText(QString::fromStdString(name)); i >= 0) value_->setCurrentIndex(i);
}

void LayerMapPage::setMetricChecked(const std::string& metric, bool on) {
    for (const auto& [name, box] : metrics_)
        if (name == metric) box->setChecked(on);
}

void LayerMapPage::setComputeEnabled(bool on) {
    compute_->setEnabled(on);
}

} // namespace layerlab::ui
