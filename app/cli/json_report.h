#pragma once
// The JSON reports of the CLI commands (--json FILE): each records the command line that made it,
// the LayerLab version and the time, so `layerlab-cli report` can say how to reproduce a figure.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace layerlab::cli {

// "layerlab-cli COMMAND ARGS...", each argument shell-quoted where it needs it.
std::string commandLine(const std::string& command, const std::vector<std::string>& args);

// Adds "command", "layerlab_version" and "created_utc" to `report` and writes it to `path`
// through a temporary file.
void writeJsonReport(const std::string& path, nlohmann::json report, const std::string& command,
                     const std::vector<std::string>& args);

} // namespace layerlab::cli
