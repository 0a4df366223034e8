#pragma once
// The "Metric vs metric" tab: two computed metrics for one granularity as a scatter chart (one
// point per layer), with Spearman's rho and Kendall's tau in the title, and its exports.

#include <QWidget>

class QChartView;
class QComboBox;

namespace layerlab::ui {

class MetricScatterModel;
class Workspace;

class MetricScatterPage : public QWidget {
    Q_OBJECT
public:
    explicit MetricScatterPage(Workspace* workspace, QWidget* parent = nullptr);

    MetricScatterModel* model() const { return model_; }
    QChartView* chartView() const { return view_; }
    QString title() const;
    // Picks the metrics and granularity ("block", "attn", "ffn"); unknown names are ignored.
    void choose(const QString& x, const QString& y, const QString& unit);

Q_SIGNALS:
    void exportImageRequested();
    void exportCsvRequested();

private:
    void refreshMetrics();
    void rebuild();

    Workspace* workspace_;
    MetricScatterModel* model_;
    QComboBox* x_;
    QComboBox* y_;
    QComboBox* unit_;
    QChartView* view_;
};

} // namespace layerlab::ui
