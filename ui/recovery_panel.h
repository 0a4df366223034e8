#pragma once
// The recovery panel: closed-form adapters for the removed units (bias, or low-rank with a rank
// and ridge), before / after loss and perplexity, removing and saving the installed adapters.

#include <QWidget>

#include "recovery_job.h"

class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QPushButton;
class QSpinBox;

namespace layerlab::ui {

class Workspace;

class RecoveryPanel : public QWidget {
    Q_OBJECT
public:
    explicit RecoveryPanel(Workspace* workspace, QWidget* parent = nullptr);

    RecoveryRequest request() const;
    void setRequest(const RecoveryRequest& request);
    void showResult(const RecoveryResult& result);
    QString resultText() const;

Q_SIGNALS:
    void fitRequested(const layerlab::ui::RecoveryRequest& request);
    void removeRequested();
    void saveRequested();

private:
    void refresh();

    Workspace* workspace_;
    QComboBox* method_;
    QSpinBox* rank_;
    QDoubleSpinBox* ridge_;
    QPushButton* fit_;
    QPushButton* remove_;
    QPushButton* save_;
    QLabel* installed_;
    QLabel* result_;
};

} // namespace layerlab::ui
