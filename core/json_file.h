#pragma once
// Reading a JSON file that came from anywhere: size-bounded before it is read, and every
// failure an Error naming the file.

#include <cstdint>
#include <filesystem>

#include <nlohmann/json.hpp>

namespace layerlab {

nlohmann::json readJsonFile(const std::filesystem::path& path, uint64_t maxBytes);

} // namespace layerlab
