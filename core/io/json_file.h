#pragma once
// Reading a JSON file that came from anywhere: size-bounded before it is read, and every
// failure an Error naming the file.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "io/line_reader.h"

namespace layerlab {

nlohmann::json readJsonFile(const std::filesystem::path& path, uint64_t maxBytes);
// The parsing half of readJsonFile, for text already in memory (tests, fuzzing): `source` names
// the file in the error.
nlohmann::json parseJsonText(std::string_view text, const std::filesystem::path& source);
// One line of a .jsonl file, which must hold a JSON object: otherwise fail("invalid JSON (...)")
// or fail("expected a JSON object with " + fields).
nlohmann::json parseJsonLine(std::string_view line, const LineFailure& fail, const std::string& fields);

} // namespace layerlab
