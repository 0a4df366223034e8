#pragma once
// The live cost panel: the cost table, "Evaluate" and "Auto-evaluate" (re-run the quick
// evaluation after every change of the removal set).

#include <QWidget>

class QCheckBox;
class QLabel;
class QPushButton;
class QTableView;

namespace layerlab::ui {

class CostModel;
class Workspace;

class CostPanel : public QWidget {
    Q_OBJECT
public:
    explicit CostPanel(Workspace* workspace, QWidget* parent = nullptr);
    CostModel* model() const { return model_; }
    QTableView* view() const { return view_; }
    bool autoEvaluate() const;
    void setAutoEvaluate(bool on);
    void setEvaluationStatus(const QString& text);

Q_SIGNALS:
    void evaluateRequested();
    void autoEvaluateToggled(bool on);

private:
    CostModel* model_;
    QTableView* view_;
    QCheckBox* auto_;
    QPushButton* evaluate_;
    QLabel* status_;
};

} // namespace layerlab::ui
