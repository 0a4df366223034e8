#pragma once
// The workbench window. For now: open a model folder and see what it is; the layer map,
// cost panel, recovery and export panels grow here with later features.

#include <QMainWindow>

#include <memory>

#include "model.h"

class QLabel;
class QProgressBar;
class QPushButton;
class QTextBrowser;

namespace layerlab::ui {

class ModelLoadJob;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    void openModel(const QString& dir);

private:
    void chooseModel();
    void showModel(std::shared_ptr<Model> model);
    void setBusy(bool busy);

    ModelLoadJob* loadJob_;
    QTextBrowser* info_;
    QProgressBar* progress_;
    QLabel* status_;
    QPushButton* cancel_;
    std::shared_ptr<Model> model_;
};

} // namespace layerlab::ui
