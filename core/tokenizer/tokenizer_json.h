#pragma once
// Checked access to tokenizer.json fields: every miss or wrong type becomes an Error naming the
// file and the field, never a crash. Internal to the tokenizer.

#include "common/error.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>

namespace layerlab::tok {

inline const nlohmann::json& field(const nlohmann::json& obj, const char* key,
                                   const std::filesystem::path& source, const std::string& context) {
    if (!obj.is_object()) throw Error(source, context + " is not a JSON object");
    const auto it = obj.find(key);
    if (it == obj.end()) throw Error(source, context + " has no \"" + key + "\" field");
    return *it;
}

inline std::string stringField(const nlohmann::json& obj, const char* key,
                               const std::filesystem::path& source, const std::string& context) {
    const auto& v = field(obj, key, source, context);
    if (!v.is_string()) throw Error(source, context + "." + key + " is not a string");
    return v.get<std::string>();
}

// Optional member with a default; a present value of the wrong type is an error.
template <typename T>
T optionalField(const nlohmann::json& obj, const char* key, T fallback, const std::filesystem::path& source,
                const std::string& context) {
    if (!obj.is_object()) return fallback;
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return fallback;
    try {
        return it->get<T>();
    } catch (const nlohmann::json::exception&) {
        throw Error(source, context + "." + key + " has an unexpected type");
    }
}

} // namespace layerlab::tok
