// Inputs that once crashed, hung or exhausted memory in a fuzz target (fuzz/targets/, run by
// tools/fuzz.sh), stored in tests/data/fuzz_regressions/<target>/. Each goes through the same
// code as its target: it may be accepted or give a layerlab::Error, never a crash or another
// exception.

#include "common/error.h"
#include "fuzz_target.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

namespace layerlab {
namespace {

namespace fs = std::filesystem;

const fs::path kRegressions = fs::path(LAYERLAB_TEST_DATA) / "fuzz_regressions";

std::string readBytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

TEST(FuzzRegressions, EveryTargetIsLinked) {
    for (const char* name : {"safetensors", "model_config", "tokenizer", "data", "session_file"})
        EXPECT_EQ(fuzz::targets().count(name), 1u) << name;
}

TEST(FuzzRegressions, StoredInputsGiveAResultOrAnError) {
    ASSERT_TRUE(fs::is_directory(kRegressions)) << kRegressions;
    int inputs = 0;
    for (const auto& dir : fs::directory_iterator(kRegressions)) {
        if (!dir.is_directory()) continue;
        const std::string target = dir.path().filename().string();
        const auto entry = fuzz::targets().find(target);
        ASSERT_NE(entry, fuzz::targets().end()) << "no fuzz target named '" << target << "'";
        std::vector<fs::path> files;
        for (const auto& f : fs::directory_iterator(dir.path()))
            if (f.is_regular_file()) files.push_back(f.path());
        std::sort(files.begin(), files.end());
        for (const auto& file : files) {
            SCOPED_TRACE(file.string());
            ++inputs;
            try {
                entry->second(readBytes(file));
            } catch (const Error&) {
                // Bad input, reported as it should be.
            } catch (const std::exception& e) {
                ADD_FAILURE() << "not a layerlab::Error: " << e.what();
            }
        }
    }
    EXPECT_GT(inputs, 0);
}

} // namespace
} // namespace layerlab
