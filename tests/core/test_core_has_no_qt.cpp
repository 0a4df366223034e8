// The core must build where Qt is absent (GPU servers): nothing under core/ may include Qt.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

TEST(CoreHasNoQt, NoQtIncludes) {
    const std::regex qt(R"(#\s*include\s*[<"](Q[A-Z]\w*|Qt\w*/))");
    int files = 0;
    for (const auto& e :
         std::filesystem::recursive_directory_iterator(std::filesystem::path(LAYERLAB_SOURCE_DIR) / "core")) {
        if (!e.is_regular_file()) continue;
        std::ifstream in(e.path());
        std::string line;
        ++files;
        while (std::getline(in, line))
            EXPECT_FALSE(std::regex_search(line, qt)) << e.path() << ": " << line;
    }
    EXPECT_GT(files, 5);
}
