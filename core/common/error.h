#pragma once
// One exception type for bad input and failed operations. Messages name the file (when there is
// one) and the problem, so the CLI and the GUI can show them as they are.

#include <filesystem>
#include <stdexcept>
#include <string>

namespace layerlab {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
    Error(const std::filesystem::path& file, const std::string& problem)
        : std::runtime_error(file.string() + ": " + problem), file_(file) {}

    const std::filesystem::path& file() const { return file_; }

private:
    std::filesystem::path file_;
};

} // namespace layerlab
