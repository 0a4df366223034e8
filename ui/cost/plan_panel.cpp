#include "cost/plan_panel.h"

#include "common/error.h"
#include "export/pruning_plan.h"
#include "workspace/workspace.h"

#include <QComboBox>
#include <QGridLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>

#include <algorithm>

namespace layerlab::ui {

PlanPanel::PlanPanel(Workspace* workspace, QWidget* parent)
    : QWidget(parent), workspace_(workspace), k_(new QSpinBox(this)), unit_(new QComboBox(this)),
      metric_(new QComboBox(this)), n_(new QSpinBox(this)), removal_(new QLabel(this)) {
    k_->setRange(1, 1024);
    k_->setValue(2);
    unit_->addItem(tr("blocks"), static_cast<int>(Unit::Block));
    unit_->addItem(tr("attention sub-layers"), static_cast<int>(Unit::Attention));
    unit_->addItem(tr("FFN sub-layers"), static_cast<int>(Unit::Ffn));
    n_->setRange(1, 1024);
    n_->setValue(2);
    auto* least = new QPushButton(tr("Remove"), this);
    least->setToolTip(tr("Replace the removal set by the k units with the lowest scores"));
    auto* run = new QPushButton(tr("Remove run"), this);
    run->setToolTip(tr("Replace the removal set by the n consecutive blocks whose input and output "
                       "residual streams are closest (smallest angular distance)"));
    auto* clear = new QPushButton(tr("Restore all"), this);
    removal_->setWordWrap(true);
    removal_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* grid = new QGridLayout(this);
    grid->addWidget(new QLabel(tr("Least important:"), this), 0, 0);
    grid->addWidget(k_, 0, 1);
    grid->addWidget(unit_, 0, 2);
    grid->addWidget(new QLabel(tr("by"), this), 1, 0, Qt::AlignRight);
    grid->addWidget(metric_, 1, 1, 1, 2);
    grid->addWidget(least, 1, 3);
    grid->addWidget(new QLabel(tr("Best block run:"), this), 2, 0);
    grid->addWidget(n_, 2, 1);
    grid->addWidget(new QLabel(tr("(angular)"), this), 2, 2);
    grid->addWidget(run, 2, 3);
    grid->addWidget(removal_, 3, 0, 1, 3);
    grid->addWidget(clear, 3, 3);
    grid->setColumnStretch(2, 1);

    connect(least, &QPushButton::clicked, this, &PlanPanel::applyLeastImportant);
    connect(run, &QPushButton::clicked, this, &PlanPanel::applyBestRun);
    connect(clear, &QPushButton::clicked, this,
            [this] { workspace_->setMask(LayerMask(workspace_->numLayers())); });
    connect(workspace_, &Workspace::scoresChanged, this, &PlanPanel::refreshMetrics);
    connect(workspace_, &Workspace::maskChanged, this, &PlanPanel::showMask);
    refreshMetrics();
    showMask();
}

void PlanPanel::refreshMetrics() {
    const QString current = metric_->currentText();
    metric_->clear();
    for (const auto& m : orderedMetrics(workspace_->scores()))
        if (m != "angular") metric_->addItem(QString::fromStdString(m));
    if (const int i = metric_->findText(current); i >= 0) metric_->setCurrentIndex(i);
    k_->setMaximum(std::max<int>(1, static_cast<int>(workspace_->numLayers())));
}

void PlanPanel::showMask() {
    const auto spec = workspace_->mask().toSpec();
    removal_->setText(spec.empty() ? tr("Nothing removed.")
                                   : tr("Removed: %1").arg(QString::fromStdString(spec)));
}

void PlanPanel::setChoice(const QString& metric, int unit, int k) {
    if (const int i = metric_->findText(metric); i >= 0) metric_->setCurrentIndex(i);
    if (const int i = unit_->findData(unit); i >= 0) unit_->setCurrentIndex(i);
    k_->setValue(k);
}

void PlanPanel::setRunLength(int n) {
    n_->setValue(n);
}

bool PlanPanel::applyLeastImportant() {
    const auto unit = static_cast<Unit>(unit_->currentData().toInt());
    const auto& scores = workspace_->scores().at(metric_->currentText().toStdString(), unit);
    if (scores.empty()) {
        removal_->setText(
            tr("No %1 scores for %2 yet: compute importance first.")
                .arg(metric_->currentText().isEmpty() ? tr("importance") : metric_->currentText(),
                     unit_->currentText()));
        return false;
    }
    const int64_t k = std::min<int64_t>(k_->value(), workspace_->numLayers());
    try {
        workspace_->setMask(removeLeastImportant(LayerMask(workspace_->numLayers()), unit, scores, k));
    } catch (const Error& e) {
        removal_->setText(QString::fromStdString(e.what()));
        return false;
    }
    return true;
}

bool PlanPanel::applyBestRun() {
    const auto& table = workspace_->scores();
    const int n = n_->value();
    if (n > workspace_->numLayers()) return false;
    const auto& angular = table.at("angular", Unit::Block);
    if (angular.empty() || table.angularN != n) {
        Q_EMIT angularNeeded(n);
        return false;
    }
    // Entry l compares the residual stream before block l and before block l + n: the run with
    // the smallest distance changes the stream least (removalOrder puts the lowest first).
    const int64_t start = removalOrder(angular).front();
    workspace_->setMask(removeConsecutiveBlocks(workspace_->numLayers(), start, n));
    return true;
}

} // namespace layerlab::ui
