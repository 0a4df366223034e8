// layerlab: the Qt workbench. `layerlab [MODEL_DIR]` opens a model folder at start.

#include "main_window.h"

#include <QApplication>
#include <QCommandLineParser>

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName("LayerLab");
    QApplication::setOrganizationName("LayerLab");
    QApplication::setApplicationVersion(LAYERLAB_VERSION);
    QCommandLineParser parser;
    parser.setApplicationDescription("Depth-pruning workbench for LLMs");
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument("model", "Hugging Face model folder to open");
    parser.process(app);

    layerlab::ui::MainWindow window;
    window.show();
    if (!parser.positionalArguments().isEmpty()) window.openModel(parser.positionalArguments().first());
    return app.exec();
}
