#include "test_helpers.h"

#include "file_tree.h"
#include "safetensors.h"

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

namespace layerlab::test {

namespace fs = std::filesystem;

fs::path dataDir() {
    return LAYERLAB_TEST_DATA;
}
fs::path referenceDir(const std::string& variant) {
    return dataDir() / "reference" / variant;
}

nlohmann::json readJson(const fs::path& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return nlohmann::json::parse(ss.str());
}

void writeText(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

std::vector<TokenWindow> referenceWindows(const std::string& variant) {
    auto ids = SafetensorsFile::open(referenceDir(variant) / "reference.safetensors")
                   .tensor("input_ids")
                   .to(torch::kInt64)
                   .contiguous();
    std::vector<TokenWindow> out;
    for (int64_t b = 0; b < ids.size(0); ++b) {
        auto row = ids[b];
        out.push_back(
            {std::vector<int64_t>(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + row.numel()), 0});
    }
    return out;
}

torch::Device testDevice() {
    const char* d = std::getenv("LAYERLAB_TEST_DEVICE");
    return d && *d ? torch::Device(d) : torch::Device(torch::kCPU);
}

TempDir::TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("layerlab-test-" + std::to_string(rd()) + std::to_string(rd()));
    fs::create_directories(path_);
}

TempDir::~TempDir() {
    removeTree(path_);
}

void copyCheckpoint(const std::string& variant, const fs::path& dir) {
    fs::create_directories(dir);
    for (const auto& e : fs::directory_iterator(referenceDir(variant))) {
        const auto name = e.path().filename().string();
        if (name.rfind("reference", 0) == 0) continue;
        fs::copy_file(e.path(), dir / name, fs::copy_options::overwrite_existing);
    }
}

double maxDiff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kCPU, torch::kFloat64) - b.to(torch::kCPU, torch::kFloat64))
        .abs()
        .max()
        .item<double>();
}

fs::path demoDir() {
    return fs::path(LAYERLAB_SOURCE_DIR) / "resources" / "demo";
}

} // namespace layerlab::test
