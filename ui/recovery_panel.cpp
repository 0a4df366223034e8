#include "recovery_panel.h"

#include "workspace.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>

#include <cmath>

namespace layerlab::ui {

RecoveryPanel::RecoveryPanel(Workspace* workspace, QWidget* parent)
    : QWidget(parent), workspace_(workspace), method_(new QComboBox(this)), rank_(new QSpinBox(this)),
      ridge_(new QDoubleSpinBox(this)), fit_(new QPushButton(tr("Fit adapters"), this)),
      remove_(new QPushButton(tr("Remove adapters"), this)), save_(new QPushButton(tr("Save..."), this)),
      installed_(new QLabel(this)), result_(new QLabel(this)) {
    method_->addItem(tr("bias (mean update)"), false);
    method_->addItem(tr("low-rank map"), true);
    method_->setToolTip(tr("bias: each removed unit's mean update over the calibration tokens.\n"
                           "low-rank: h -> B A x + b fitted by ridge least squares, truncated to the rank."));
    rank_->setRange(1, 65536);
    rank_->setValue(16);
    rank_->setPrefix(tr("rank "));
    ridge_->setDecimals(6);
    ridge_->setRange(0, 10);
    ridge_->setSingleStep(1e-4);
    ridge_->setValue(1e-4);
    ridge_->setPrefix(tr("ridge "));
    ridge_->setToolTip(tr("Ridge strength relative to the mean variance of the unit's input"));
    fit_->setToolTip(tr("Fit adapters for every removed unit on the calibration sample and install them"));
    save_->setToolTip(
        tr("Save the installed adapters as safetensors (layerlab-cli --adapters FILE loads them)"));
    setToolTip(tr("Adapters stand in for removed units. They stay in the model when the removal set "
                  "changes, but each acts only while its unit is removed; units with one are marked "
                  "'A' in the layer map."));
    installed_->setWordWrap(true);
    result_->setWordWrap(true);
    result_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    auto* grid = new QGridLayout(this);
    grid->setContentsMargins(0, 0, 0, 0);
    grid->addWidget(method_, 0, 0);
    grid->addWidget(rank_, 0, 1);
    grid->addWidget(ridge_, 0, 2);
    grid->addWidget(fit_, 1, 0);
    grid->addWidget(remove_, 1, 1);
    grid->addWidget(save_, 1, 2);
    grid->addWidget(installed_, 2, 0, 1, 3);
    grid->addWidget(result_, 3, 0, 1, 3);

    connect(method_, &QComboBox::currentIndexChanged, this, &RecoveryPanel::refresh);
    connect(fit_, &QPushButton::clicked, this, [this] { Q_EMIT fitRequested(request()); });
    connect(remove_, &QPushButton::clicked, this, &RecoveryPanel::removeRequested);
    connect(save_, &QPushButton::clicked, this, &RecoveryPanel::saveRequested);
    connect(workspace_, &Workspace::adaptersChanged, this, &RecoveryPanel::refresh);
    connect(workspace_, &Workspace::maskChanged, this, &RecoveryPanel::refresh);
    connect(workspace_, &Workspace::modelChanged, this, [this] {
        rank_->setMaximum(std::max<int>(1, static_cast<int>(workspace_->summary().hiddenSize)));
        result_->clear();
        refresh();
    });
    refresh();
}

RecoveryRequest RecoveryPanel::request() const {
    RecoveryRequest r;
    r.lowRank = method_->currentData().toBool();
    r.rank = rank_->value();
    r.ridge = ridge_->value();
    return r;
}

void RecoveryPanel::setRequest(const RecoveryRequest& r) {
    method_->setCurrentIndex(r.lowRank ? 1 : 0);
    rank_->setValue(static_cast<int>(r.rank));
    ridge_->setValue(r.ridge);
}

void RecoveryPanel::refresh() {
    rank_->setEnabled(method_->currentData().toBool());
    fit_->setEnabled(workspace_->hasModel() && !workspace_->mask().empty());
    const auto& units = workspace_->adapterUnits();
    remove_->setEnabled(!units.empty());
    save_->setEnabled(!units.empty());
    if (units.empty()) {
        installed_->setText(workspace_->mask().empty() ? tr("Remove units first, then fit adapters for them.")
                                                       : tr("No adapters installed."));
        return;
    }
    QStringList names;
    int acting = 0;
    for (const auto& u : units) {
        names << QStringLiteral("%1:%2").arg(QString::fromLatin1(unitName(u.unit))).arg(u.layer);
        if (workspace_->mask().isRemoved(u.unit, u.layer)) ++acting;
    }
    installed_->setText(tr("Adapters installed: %1 (%2 acting: only removed units use theirs)")
                            .arg(names.join(QStringLiteral(", ")))
                            .arg(acting));
}

void RecoveryPanel::showResult(const RecoveryResult& r) {
    auto line = [](const QString& what, double loss) {
        return QStringLiteral("%1: loss %2, perplexity %3")
            .arg(what)
            .arg(loss, 0, 'f', 4)
            .arg(std::exp(loss), 0, 'f', 2);
    };
    result_->setText(tr("%1 for %2 (%3 adapters, fitted in %4 s), on %5 windows:")
                         .arg(QString::fromStdString(r.method), QString::fromStdString(r.mask.toSpec()))
                         .arg(r.adapters)
                         .arg(r.fitSeconds, 0, 'f', 1)
                         .arg(r.windows) +
                     QLatin1Char('\n') + line(tr("full model"), r.fullLoss) + QLatin1Char('\n') +
                     line(tr("removed"), r.removedLoss) + QLatin1Char('\n') +
                     line(tr("recovered"), r.recoveredLoss) +
                     (r.dropped.empty() ? QString()
                                        : tr("\nNot kept (made the calibration loss worse): %1")
                                              .arg(QString::fromStdString(r.dropped))));
}

QString RecoveryPanel::resultText() const {
    return result_->text();
}

} // namespace layerlab::ui
