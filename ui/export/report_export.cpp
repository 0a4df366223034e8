#include "export/report_export.h"

#include <QAbstractItemModel>
#include <QBuffer>
#include <QImage>
#include <QPainter>
#include <QSaveFile>
#include <QSvgGenerator>
#include <QWidget>

namespace layerlab::ui {

namespace {

QString failure(const QString& path, const QString& problem) {
    return QObject::tr("%1: %2").arg(path, problem);
}

QString number(double v) {
    return QString::number(v, 'g', 17);
}

} // namespace

QString saveText(const QString& path, const QByteArray& content) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) return failure(path, file.errorString());
    if (file.write(content) != content.size()) return failure(path, file.errorString());
    if (!file.commit()) return failure(path, file.errorString());
    return {};
}

QByteArray widgetSvg(QWidget* widget, const QString& title) {
    QBuffer out;
    out.open(QIODevice::WriteOnly);
    QSvgGenerator svg;
    svg.setOutputDevice(&out);
    svg.setSize(widget->size());
    svg.setViewBox(QRect(QPoint(0, 0), widget->size()));
    svg.setTitle(title);
    svg.setDescription(QObject::tr("Exported by LayerLab"));
    QPainter painter;
    if (!painter.begin(&svg)) return {};
    widget->render(&painter);
    painter.end();
    return out.data();
}

QString saveWidgetImage(QWidget* widget, const QString& path, const QString& title) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly)) return failure(path, file.errorString());
    if (path.endsWith(QStringLiteral(".svg"), Qt::CaseInsensitive)) {
        const QByteArray svg = widgetSvg(widget, title);
        if (svg.isEmpty()) return failure(path, QObject::tr("cannot start the SVG writer"));
        if (file.write(svg) != svg.size()) return failure(path, file.errorString());
    } else if (path.endsWith(QStringLiteral(".png"), Qt::CaseInsensitive)) {
        // Twice the screen resolution: reports are printed.
        QImage image(widget->size() * 2, QImage::Format_ARGB32);
        image.setDevicePixelRatio(2);
        image.fill(Qt::white);
        QPainter painter(&image);
        widget->render(&painter);
        painter.end();
        if (!image.save(&file, "PNG")) return failure(path, QObject::tr("could not encode the PNG image"));
    } else {
        file.cancelWriting();
        return failure(path, QObject::tr("unknown image format (use .png or .svg)"));
    }
    if (!file.commit()) return failure(path, file.errorString());
    return {};
}

QString csvField(const QString& text) {
    if (!text.contains(QLatin1Char(',')) && !text.contains(QLatin1Char('"')) &&
        !text.contains(QLatin1Char('\n')))
        return text;
    QString quoted = text;
    quoted.replace(QLatin1String("\""), QLatin1String("\"\""));
    return QLatin1Char('"') + quoted + QLatin1Char('"');
}

QString saveTableCsv(const QAbstractItemModel& model, const QString& path, int valueRole, int stdErrRole) {
    const int rows = model.rowCount();
    const int cols = model.columnCount();
    std::vector<bool> hasStdErr(static_cast<size_t>(cols), false);
    if (stdErrRole >= 0)
        for (int c = 0; c < cols; ++c)
            for (int r = 0; r < rows && !hasStdErr[c]; ++r)
                hasStdErr[c] = model.index(r, c).data(stdErrRole).isValid();
    QStringList header;
    for (int c = 0; c < cols; ++c) {
        const auto title =
            model.headerData(c, Qt::Horizontal).toString().replace(QLatin1Char('\n'), QLatin1Char(' '));
        header << csvField(title);
        if (hasStdErr[c]) header << csvField(title + QObject::tr(" stderr"));
    }
    QByteArray out = header.join(QLatin1Char(',')).toUtf8() + '\n';
    for (int r = 0; r < rows; ++r) {
        QStringList fields;
        for (int c = 0; c < cols; ++c) {
            const auto index = model.index(r, c);
            const auto value = index.data(valueRole);
            const auto check = index.data(Qt::CheckStateRole);
            if (value.isValid() && value.canConvert<double>())
                fields << number(value.toDouble());
            else if (check.isValid())
                fields << (check.value<Qt::CheckState>() == Qt::Unchecked ? QStringLiteral("0")
                                                                          : QStringLiteral("1"));
            else
                fields << csvField(index.data(Qt::DisplayRole).toString());
            if (hasStdErr[c]) {
                const auto se = index.data(stdErrRole);
                fields << (se.isValid() ? number(se.toDouble()) : QString());
            }
        }
        out += fields.join(QLatin1Char(',')).toUtf8() + '\n';
    }
    return saveText(path, out);
}

} // namespace layerlab::ui
