#include "io/json_file.h"

#include "common/error.h"

#include <fstream>
#include <sstream>

namespace layerlab {

nlohmann::json readJsonFile(const std::filesystem::path& path, uint64_t maxBytes) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    std::ifstream in(path, std::ios::binary);
    if (ec || !in) throw Error(path, "cannot open");
    if (size > maxBytes) throw Error(path, "file is larger than " + std::to_string(maxBytes >> 20) + " MiB");
    std::stringstream ss;
    ss << in.rdbuf();
    return parseJsonText(ss.str(), path);
}

nlohmann::json parseJsonText(std::string_view text, const std::filesystem::path& source) {
    try {
        return nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {
        throw Error(source, std::string("not valid JSON (") + e.what() + ")");
    }
}

nlohmann::json parseJsonLine(std::string_view line, const LineFailure& fail, const std::string& fields) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
        fail("invalid JSON (" + jsonProblem(e) + ")");
    }
    if (!j.is_object()) fail("expected a JSON object with " + fields);
    return j;
}

} // namespace layerlab
