#include "json_report.h"

#include "common/utc_time.h"
#include "io/atomic_file.h"

#include <filesystem>

namespace layerlab::cli {

namespace {

std::string shellQuoted(const std::string& arg) {
    if (!arg.empty() && arg.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                              "0123456789-_.,:/=+@%") == std::string::npos)
        return arg;
    std::string out = "'";
    for (char c : arg)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

} // namespace

std::string commandLine(const std::string& command, const std::vector<std::string>& args) {
    std::string line = "layerlab-cli " + command;
    for (const auto& a : args)
        line += " " + shellQuoted(a);
    return line;
}

void writeJsonReport(const std::string& path, nlohmann::json report, const std::string& command,
                     const std::vector<std::string>& args) {
    // The model as an absolute path: the report command may run in another folder.
    if (auto m = report.find("model"); m != report.end() && m->is_string()) {
        std::error_code ec;
        const auto absolute = std::filesystem::weakly_canonical(m->get<std::string>(), ec);
        if (!ec) *m = absolute.string();
    }
    report["command"] = commandLine(command, args);
    report["layerlab_version"] = LAYERLAB_VERSION;
    report["created_utc"] = utcNow();
    writeFileAtomically(path, report.dump(2) + "\n");
}

} // namespace layerlab::cli
