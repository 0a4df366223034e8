#include "arguments.h"

#include "common/error.h"

#include <charconv>

namespace layerlab::cli {

Arguments::Arguments(const std::vector<std::string>& args, const std::set<std::string>& valueOptions,
                     const std::set<std::string>& flags) {
    for (size_t i = 0; i < args.size(); ++i) {
        std::string a = args[i];
        if (a.rfind("--", 0) != 0) throw UsageError("unexpected argument '" + a + "'");
        std::string name = a.substr(2), value;
        bool inlineValue = false;
        if (auto eq = name.find('='); eq != std::string::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
            inlineValue = true;
        }
        if (flags.count(name)) {
            if (inlineValue) throw UsageError("option --" + name + " takes no value");
            flags_.insert(name);
            continue;
        }
        if (!valueOptions.count(name)) throw UsageError("unknown option --" + name + " (see --help)");
        if (!inlineValue) {
            if (i + 1 >= args.size()) throw UsageError("option --" + name + " needs a value");
            value = args[++i];
        }
        if (values_.count(name)) throw UsageError("option --" + name + " given twice");
        values_[name] = value;
    }
}

std::optional<std::string> Arguments::get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second;
}

std::string Arguments::get(const std::string& name, const std::string& fallback) const {
    return get(name).value_or(fallback);
}

std::string Arguments::required(const std::string& name) const {
    auto v = get(name);
    if (!v) throw UsageError("option --" + name + " is required");
    return *v;
}

int64_t Arguments::getInt(const std::string& name, int64_t fallback) const {
    auto v = get(name);
    if (!v) return fallback;
    int64_t out = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || p != v->data() + v->size())
        throw UsageError("option --" + name + " needs an integer, got '" + *v + "'");
    return out;
}

double Arguments::getDouble(const std::string& name, double fallback) const {
    auto v = get(name);
    if (!v) return fallback;
    try {
        size_t used = 0;
        double d = std::stod(*v, &used);
        if (used != v->size()) throw std::invalid_argument("trailing");
        return d;
    } catch (const std::exception&) {
        throw UsageError("option --" + name + " needs a number, got '" + *v + "'");
    }
}

} // namespace layerlab::cli
