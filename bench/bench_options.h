#pragma once
// The benchmark programs' "--name value" options after their positional arguments. A name that is
// not among the defaults, or one without a value, ends the program with the usage line: a typo
// would otherwise measure the defaults without a word.

#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

namespace layerlab::bench {

using Options = std::map<std::string, std::string>;

inline Options parseOptions(int argc, char** argv, int first, Options defaults, const char* usage) {
    for (int i = first; i < argc; i += 2) {
        const std::string flag = argv[i];
        const std::string name = flag.rfind("--", 0) == 0 ? flag.substr(2) : std::string();
        if (name.empty() || !defaults.count(name) || i + 1 >= argc) {
            std::cerr << (i + 1 >= argc && !name.empty() && defaults.count(name) ? "no value for "
                                                                                 : "unknown option ")
                      << flag << "\n"
                      << usage << "\n";
            std::exit(2);
        }
        defaults[name] = argv[i + 1];
    }
    return defaults;
}

} // namespace layerlab::bench
