#pragma once
// The side panel: what the open model is (architecture, parameters, dtype, device, memory), where
// and in which precision to run it, and which calibration data and tasks to evaluate on.

#include <QWidget>

#include <functional>

class QComboBox;
class QFormLayout;
class QLabel;
class QLineEdit;
class QListWidget;
class QSpinBox;

namespace layerlab::ui {

class Workspace;
struct DataSettings;

class ModelPanel : public QWidget {
    Q_OBJECT
public:
    explicit ModelPanel(Workspace* workspace, QWidget* parent = nullptr);
    QString device() const;
    QString dtype() const;
    void setDevice(const QString& name);
    void setDtype(const QString& name);

Q_SIGNALS:
    // The user asked to load the open model again on another device or in another dtype.
    void reloadRequested(const QString& device, const QString& dtype);

private:
    void showModel();
    void showData();
    void editData(const std::function<void(DataSettings&)>& change);
    void chooseCalibration();
    void addTask();
    void removeTask();

    Workspace* workspace_;
    QLabel* info_;
    QComboBox* device_;
    QComboBox* dtype_;
    QLineEdit* calibration_;
    QListWidget* tasks_;
    QSpinBox* seqLen_;
    QSpinBox* windows_;
    QSpinBox* evalWindows_;
    QSpinBox* evalItems_;
};

} // namespace layerlab::ui
