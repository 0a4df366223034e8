// GoogleTest inside a QApplication: item models, widgets and queued calls need one.

#include "common/host_allocator.h"

#include <QApplication>
#include <QStandardPaths>

#include <gtest/gtest.h>

int main(int argc, char** argv) {
    layerlab::configureHostMemory(); // as the workbench does
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    // Keep the tests' recent models and window state out of the user's settings.
    QStandardPaths::setTestModeEnabled(true);
    QApplication app(argc, argv);
    QApplication::setOrganizationName("LayerLabTests");
    QApplication::setApplicationName("layerlab_ui_tests");
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
