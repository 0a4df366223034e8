#pragma once
// Command-line options of one layerlab-cli command: "--name value" pairs and "--flag" switches.
// Unknown or repeated options are errors, so a typo never silently changes what runs.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/error.h"

namespace layerlab::cli {

// A mistake in how the command was called (exit code 2), as opposed to bad input files.
class UsageError : public Error {
public:
    using Error::Error;
};

class Arguments {
public:
    // flags: options that take no value.
    Arguments(const std::vector<std::string>& args, const std::set<std::string>& valueOptions,
              const std::set<std::string>& flags);

    std::optional<std::string> get(const std::string& name) const;
    std::string get(const std::string& name, const std::string& fallback) const;
    std::string required(const std::string& name) const;
    int64_t getInt(const std::string& name, int64_t fallback) const;
    double getDouble(const std::string& name, double fallback) const;
    bool flag(const std::string& name) const { return flags_.count(name) != 0; }

private:
    std::map<std::string, std::string> values_;
    std::set<std::string> flags_;
};

} // namespace layerlab::cli
