#include "io/file_tree.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

namespace fs = std::filesystem;

TEST(FileTree, RemovesNestedFoldersWithoutFollowingLinks) {
    layerlab::test::TempDir dir;
    fs::create_directories(dir / "tree/a/b");
    layerlab::test::writeText(dir / "tree/a/b/file.txt", "x");
    layerlab::test::writeText(dir / "keep.txt", "kept");
    fs::create_symlink(dir / "keep.txt", dir / "tree/link");
    EXPECT_TRUE(layerlab::removeTree(dir / "tree"));
    EXPECT_FALSE(fs::exists(dir / "tree"));
    EXPECT_TRUE(fs::exists(dir / "keep.txt")); // the link's target survives
    EXPECT_TRUE(layerlab::removeTree(dir / "missing"));
}
