// The window on small screens: its first size comes from the screen, it fits 1366 x 768, and no
// control's text is cut there.

#include "window/main_window.h"

#include <QAbstractButton>
#include <QApplication>
#include <QComboBox>
#include <QGroupBox>
#include <QLabel>
#include <QPushButton>
#include <QTabBar>

#include <gtest/gtest.h>

using namespace layerlab::ui;

namespace {

// Controls narrower than their text needs, as "Class 'text' (has W, needs N)".
QStringList cutControls(const QWidget& window) {
    QStringList cut;
    auto check = [&](const QWidget* w, const QString& text, int needed) {
        if (w->isVisible() && w->width() < needed)
            cut << QStringLiteral("%1 '%2' (has %3, needs %4)")
                       .arg(QString::fromLatin1(w->metaObject()->className()), text)
                       .arg(w->width())
                       .arg(needed);
    };
    for (const auto* b : window.findChildren<QAbstractButton*>())
        if (!b->text().isEmpty()) check(b, b->text(), b->sizeHint().width());
    for (const auto* l : window.findChildren<QLabel*>())
        if (!l->wordWrap() && !l->text().isEmpty() && l->pixmap().isNull())
            check(l, l->text().left(40), l->minimumSizeHint().width());
    for (const auto* c : window.findChildren<QComboBox*>())
        check(c, c->currentText(), c->minimumSizeHint().width());
    for (const auto* g : window.findChildren<QGroupBox*>())
        check(g, g->title(), g->fontMetrics().horizontalAdvance(g->title()) + 16);
    return cut;
}

} // namespace

TEST(WindowFit, TheCheckFindsACutButton) {
    QWidget page;
    auto* button = new QPushButton(QStringLiteral("Compute importance"), &page);
    button->setFixedWidth(40);
    page.show();
    QApplication::processEvents();
    const auto cut = cutControls(page);
    ASSERT_EQ(cut.size(), 1);
    EXPECT_TRUE(cut[0].startsWith(QStringLiteral("QPushButton 'Compute importance' (has 40")))
        << cut[0].toStdString();
}

TEST(WindowFit, FirstSizeComesFromTheScreen) {
    EXPECT_EQ(initialWindowSize(QSize(1920, 1040)), QSize(1600, 960)); // as designed, with room to spare
    EXPECT_EQ(initialWindowSize(QSize(1366, 728)), QSize(1366, 728));  // a laptop: the whole screen
    EXPECT_EQ(initialWindowSize(QSize(3840, 2100)), QSize(1600, 960));
}

TEST(WindowFit, FitsAndCutsNothingAt1366x768) {
    for (const QSize size : {QSize(1366, 728), QSize(1600, 860), QSize(1920, 1040)}) {
        MainWindow w;
        w.setInteractive(false);
        w.resize(size);
        w.show();
        QApplication::processEvents();
        EXPECT_LE(w.minimumSizeHint().width(), 1366);
        EXPECT_LE(w.minimumSizeHint().height(), 728);
        EXPECT_EQ(w.size(), size) << "the window would not shrink to " << size.width() << " x "
                                  << size.height();
        if (qEnvironmentVariableIsSet("LAYERLAB_WINDOW_SHOTS"))
            w.grab().save(qEnvironmentVariable("LAYERLAB_WINDOW_SHOTS") +
                          QStringLiteral("/window_%1x%2.png").arg(size.width()).arg(size.height()));
        const auto cut = cutControls(w);
        EXPECT_TRUE(cut.isEmpty()) << size.width() << " x " << size.height() << ":\n"
                                   << cut.join(QLatin1Char('\n')).toStdString();
    }
}
