#pragma once
// The layerlab-cli commands. Each takes its own arguments (after the command word) and returns
// the process exit code: 0 done, 1 failed, 2 bad usage, 130 cancelled.

#include <string>
#include <vector>

namespace layerlab::cli {

int runInfo(const std::vector<std::string>& args);
int runEval(const std::vector<std::string>& args);
int runTokenize(const std::vector<std::string>& args);
int runImportance(const std::vector<std::string>& args);
int runSweep(const std::vector<std::string>& args);
int runRecover(const std::vector<std::string>& args);
int runExport(const std::vector<std::string>& args);
int runReport(const std::vector<std::string>& args); // workbench builds only (LAYERLAB_CLI_REPORT)

} // namespace layerlab::cli
