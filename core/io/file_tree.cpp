#include "io/file_tree.h"

#include <cerrno>
#include <cstdio>
#include <ftw.h>
#include <sys/stat.h>

namespace layerlab {

namespace {
int removeEntry(const char* path, const struct stat*, int, struct FTW*) {
    return std::remove(path) == 0 ? 0 : -1;
}
} // namespace

bool removeTree(const std::filesystem::path& path) noexcept {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return errno == ENOENT;
    // Depth first so folders are empty when their turn comes; FTW_PHYS: never follow links.
    return ::nftw(path.c_str(), removeEntry, 32, FTW_DEPTH | FTW_PHYS) == 0;
}

} // namespace layerlab
