#pragma once
// One-click removal plans: the k least important units by a metric at a granularity, and the best
// run of n consecutive blocks by angular distance. Also shows and clears the removal set.

#include <QWidget>

class QComboBox;
class QLabel;
class QPushButton;
class QSpinBox;

namespace layerlab::ui {

class Workspace;

class PlanPanel : public QWidget {
    Q_OBJECT
public:
    explicit PlanPanel(Workspace* workspace, QWidget* parent = nullptr);

    // Applies "k least important" with the current choices; false (and a message) when the
    // metric has no scores at that granularity.
    bool applyLeastImportant();
    // Applies the best angular run of n blocks when scores for that n exist; otherwise asks for them.
    bool applyBestRun();
    void setChoice(const QString& metric, int unit, int k);
    void setRunLength(int n);

Q_SIGNALS:
    // Angular distances for run length n are needed first; applyBestRun() again once they are in.
    void angularNeeded(int n);

private:
    void refreshMetrics();
    void showMask();

    Workspace* workspace_;
    QSpinBox* k_;
    QComboBox* unit_;
    QComboBox* metric_;
    QSpinBox* n_;
    QLabel* removal_;
};

} // namespace layerlab::ui
