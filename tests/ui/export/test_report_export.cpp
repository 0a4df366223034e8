#include "export/report_export.h"

#include <QFile>
#include <QLabel>
#include <QStandardItemModel>
#include <QTemporaryDir>

#include <gtest/gtest.h>

using namespace layerlab::ui;

namespace {

QByteArray readAll(const QString& path) {
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace

TEST(ReportExport, TableAsCsv) {
    QStandardItemModel model(2, 3);
    model.setHorizontalHeaderLabels({"layer", "runs\nblock", "cosine\nblock, mean"});
    for (int r = 0; r < 2; ++r) {
        model.setItem(r, 0, new QStandardItem(QString::number(r)));
        auto* check = new QStandardItem;
        check->setCheckable(true);
        check->setCheckState(r == 0 ? Qt::Checked : Qt::Unchecked);
        model.setItem(r, 1, check);
        auto* value = new QStandardItem(QStringLiteral("shown"));
        value->setData(0.125 * (r + 1), Qt::UserRole + 1);
        if (r == 1) value->setData(0.5, Qt::UserRole + 2);
        model.setItem(r, 2, value);
    }
    QTemporaryDir dir;
    const auto path = dir.filePath("table.csv");
    ASSERT_EQ(saveTableCsv(model, path, Qt::UserRole + 1, Qt::UserRole + 2), QString());
    EXPECT_EQ(readAll(path), "layer,runs block,\"cosine block, mean\",\"cosine block, mean stderr\"\n"
                             "0,1,0.125,\n"
                             "1,0,0.25,0.5\n");
}

TEST(ReportExport, WidgetAsPngAndSvg) {
    QLabel label("LayerLab");
    label.resize(200, 80);
    QTemporaryDir dir;
    const auto png = dir.filePath("w.png");
    const auto svg = dir.filePath("w.svg");
    ASSERT_EQ(saveWidgetImage(&label, png), QString());
    ASSERT_EQ(saveWidgetImage(&label, svg, "title"), QString());
    EXPECT_TRUE(readAll(png).startsWith("\x89PNG"));
    EXPECT_TRUE(readAll(svg).contains("<svg"));
    EXPECT_TRUE(readAll(svg).contains("<title>title</title>"));
    EXPECT_FALSE(saveWidgetImage(&label, dir.filePath("w.bmp")).isEmpty());
    EXPECT_FALSE(QFile::exists(dir.filePath("w.bmp")));
}

TEST(ReportExport, FailureNamesTheFileAndLeavesNothing) {
    QTemporaryDir dir;
    const auto path = dir.filePath("missing-folder/out.csv");
    const auto error = saveText(path, "x\n");
    EXPECT_TRUE(error.startsWith(path)) << error.toStdString();
    EXPECT_FALSE(QFile::exists(path));
}
