#pragma once
// Shared by the core tests: where the reference data lives, which device to test on, temp folders.

#include <filesystem>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "data/dataset.h"

namespace layerlab::test {

std::filesystem::path dataDir();
std::filesystem::path referenceDir(const std::string& variant);
nlohmann::json readJson(const std::filesystem::path& path);
void writeText(const std::filesystem::path& path, const std::string& text);

// The reference batch of a variant (2 x 24 ids, every position scored) as token windows.
std::vector<TokenWindow> referenceWindows(const std::string& variant);

// LAYERLAB_TEST_DEVICE=cuda (or cuda:1) runs the model tests on a GPU; CPU otherwise.
torch::Device testDevice();

// Largest absolute elementwise difference, computed in float64 on the CPU.
double maxDiff(const torch::Tensor& a, const torch::Tensor& b);

// The bundled demo model (resources/demo).
std::filesystem::path demoDir();
// A seeded sample of n windows of len tokens of the demo model's held-out text.
std::vector<TokenWindow> demoWindows(int64_t n, int64_t len);

// A fresh empty folder under the system temp dir, removed when the object goes away.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

private:
    std::filesystem::path path_;
};

// The message of the Error that f throws, or "(no error)".
std::string errorOf(const std::function<void()>& f);

// Writes `content` to dir/bad.jsonl, runs `load` on it and expects the LineError of that line: the
// message opens with "<file>:<line>: " and contains `fragment`.
void expectLineError(const TempDir& dir, const std::string& content, int64_t line,
                     const std::string& fragment,
                     const std::function<void(const std::filesystem::path&)>& load);

// Copies a reference checkpoint (config + weights, not the reference outputs) into dir.
void copyCheckpoint(const std::string& variant, const std::filesystem::path& dir);

} // namespace layerlab::test
