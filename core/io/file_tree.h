#pragma once
// Removing a folder tree without std::filesystem::remove_all: PyTorch wheels' libtorch.so
// exports a broken copy of that symbol which can win the dynamic link (crash seen on the GPU
// machines with PyTorch 2.11).

#include <filesystem>

namespace layerlab {

// Removes path and everything below it; symlinks are removed, never followed. Returns false
// if something could not be removed. A missing path is not an error.
bool removeTree(const std::filesystem::path& path) noexcept;

} // namespace layerlab
