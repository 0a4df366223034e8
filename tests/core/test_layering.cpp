// core/ is one library, so nothing in the build stops a lower folder from including a higher one;
// this test does (README, "Architecture"). A folder may include its own headers and those of the
// folders below it: common <- io, kernels <- tokenizer, model <- data <- eval <- importance <- recovery
// <- export, session.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>

namespace {

const std::map<std::string, int>& layers() {
    static const std::map<std::string, int> rank{
        {"common", 0}, {"io", 1},         {"kernels", 1},  {"tokenizer", 2}, {"model", 2},   {"data", 3},
        {"eval", 4},   {"importance", 5}, {"recovery", 6}, {"export", 7},    {"session", 7},
    };
    return rank;
}

} // namespace

TEST(CoreLayering, FoldersIncludeOnlyTheirOwnAndLowerLayers) {
    const auto core = std::filesystem::path(LAYERLAB_SOURCE_DIR) / "core";
    const std::regex quoted("^\\s*#\\s*include\\s*\"([^\"]+)\"");
    int includes = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(core)) {
        if (!e.is_regular_file() || e.path().filename() == "CMakeLists.txt") continue;
        const auto rel = std::filesystem::relative(e.path(), core);
        ASSERT_GT(std::distance(rel.begin(), rel.end()), 1) << rel << " is not in a concept folder";
        const std::string folder = rel.begin()->string();
        ASSERT_TRUE(layers().count(folder)) << "core/" << folder << "/ is not in the layer list";
        std::ifstream in(e.path());
        std::string line;
        std::smatch m;
        while (std::getline(in, line)) {
            if (!std::regex_search(line, m, quoted)) continue;
            ++includes;
            const std::string target = m[1];
            const auto slash = target.find('/');
            ASSERT_NE(slash, std::string::npos) << "core/" << rel.string() << ": " << line;
            const std::string to = target.substr(0, slash);
            ASSERT_TRUE(layers().count(to)) << "core/" << rel.string() << ": " << line;
            EXPECT_TRUE(to == folder || layers().at(to) < layers().at(folder))
                << "core/" << rel.string() << " (layer '" << folder << "') includes " << target
                << " from layer '" << to << "', which may not be used from there";
        }
    }
    EXPECT_GT(includes, 100);
}
