// layerlab-cli report: the report of a pruning study as one self-contained HTML file (and a PDF),
// drawn by the workbench's own charts on Qt's offscreen platform. Built only with the workbench
// (LAYERLAB_GUI); the same code writes File > Export report in the workbench.

#include "arguments.h"
#include "commands.h"
#include "terminal_progress.h"

#include "common/utc_time.h"
#include "report/report_content.h"
#include "report/report_document.h"

#include <QApplication>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>

namespace layerlab::cli {

int runReport(const std::vector<std::string>& argv) {
    // Inputs are the arguments that are neither options nor their values.
    const std::set<std::string> valueOptions = {"out", "pdf"}, flags = {"no-hash", "quiet"};
    std::vector<std::string> options;
    std::vector<std::filesystem::path> inputs;
    for (size_t i = 0; i < argv.size(); ++i) {
        if (argv[i].rfind("--", 0) != 0) {
            inputs.emplace_back(argv[i]);
            continue;
        }
        options.push_back(argv[i]);
        if (valueOptions.count(argv[i].substr(2)) && i + 1 < argv.size()) options.push_back(argv[++i]);
    }
    Arguments args(options, valueOptions, flags);
    const auto out = args.required("out");
    if (inputs.empty())
        throw UsageError(
            "give the JSON reports (importance, sweep, eval, recover, export) or one .layerlab session");

    auto content = ui::reportFromFiles(inputs);
    TerminalProgress bar(!args.flag("quiet"));
    if (!args.flag("no-hash")) ui::hashModelFiles(content, bar.progress());
    bar.finishLine();
    content.layerlabVersion = LAYERLAB_VERSION;
    content.created = utcNow();

    // Charts need a QApplication.
    // A report needs no window: always offscreen, unless QT_QPA_PLATFORM says otherwise (a display
    // that is set but unreachable would abort the program).
    if (!std::getenv("QT_QPA_PLATFORM")) setenv("QT_QPA_PLATFORM", "offscreen", 1);
    int qtArgc = 1;
    char name[] = "layerlab-cli";
    char* qtArgv[] = {name, nullptr};
    QApplication app(qtArgc, qtArgv);
    ui::ReportDrawing drawing(content); // each chart drawn once for both files
    drawing.drawAll();
    if (const auto error = drawing.writeHtml(QString::fromStdString(out)); !error.isEmpty())
        throw Error(error.toStdString());
    std::printf("report: %s\n", out.c_str());
    if (auto pdf = args.get("pdf")) {
        if (const auto error = drawing.writePdf(QString::fromStdString(*pdf)); !error.isEmpty())
            throw Error(error.toStdString());
        std::printf("report: %s\n", pdf->c_str());
    }
    return 0;
}

} // namespace layerlab::cli
