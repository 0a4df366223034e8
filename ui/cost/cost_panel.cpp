#include "cost/cost_panel.h"

#include "cost/cost_model.h"
#include "workspace/workspace.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QTableView>
#include <QVBoxLayout>

namespace layerlab::ui {

CostPanel::CostPanel(Workspace* workspace, QWidget* parent)
    : QWidget(parent), model_(new CostModel(workspace, this)), view_(new QTableView(this)),
      auto_(new QCheckBox(tr("Auto-evaluate"), this)), evaluate_(new QPushButton(tr("Evaluate"), this)),
      status_(new QLabel(this)) {
    view_->setModel(model_);
    view_->verticalHeader()->hide();
    view_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    view_->horizontalHeader()->setStretchLastSection(true);
    view_->setSelectionMode(QAbstractItemView::NoSelection);
    view_->setWordWrap(false);
    auto_->setToolTip(tr("After every change of the removal set, evaluate on a small sample at once, "
                         "then on a larger one (a running evaluation is cancelled)"));
    evaluate_->setToolTip(tr("Perplexity on the calibration data and accuracy on the tasks, "
                             "for the full model and the current removal set"));
    status_->setWordWrap(true);

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(evaluate_);
    buttons->addWidget(auto_);
    buttons->addStretch(1);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(view_, 1);
    layout->addLayout(buttons);
    layout->addWidget(status_);

    connect(evaluate_, &QPushButton::clicked, this, &CostPanel::evaluateRequested);
    connect(auto_, &QCheckBox::toggled, this, &CostPanel::autoEvaluateToggled);
}

bool CostPanel::autoEvaluate() const {
    return auto_->isChecked();
}

void CostPanel::setAutoEvaluate(bool on) {
    auto_->setChecked(on);
}

void CostPanel::setEvaluationStatus(const QString& text) {
    status_->setText(text);
}

} // namespace layerlab::ui
