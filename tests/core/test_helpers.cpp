#include "test_helpers.h"

#include "common/error.h"
#include "common/host_allocator.h"
#include "io/file_tree.h"
#include "io/line_reader.h"
#include "io/safetensors.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <dlfcn.h>
#include <execinfo.h>
#include <fstream>
#include <random>
#include <sstream>
#include <ucontext.h>
#include <unistd.h>

// The core tests run the model as the workbench and the CLI do: host memory set up by
// configureHostMemory (before main, so before any tensor).
[[maybe_unused]] static const bool hostAllocatorSet = (layerlab::configureHostMemory(), true);

namespace layerlab::test {

namespace fs = std::filesystem;

namespace {

// AddressSanitizer has its own, better report.
#if !defined(__SANITIZE_ADDRESS__)
// A crash in a test prints where it happened (machines without a debugger: CI, the GPU host):
// the faulting instruction, the return address on top of the stack (the caller, when the crash
// is a call through a bad pointer) and a backtrace, each as module + offset for addr2line.
void printAddress(const char* what, const void* address) {
    Dl_info info{};
    char line[512];
    int n = 0;
    if (address && dladdr(address, &info) && info.dli_fname)
        n = std::snprintf(line, sizeof line, "%s: %s(+%#lx) %s\n", what, info.dli_fname,
                          static_cast<unsigned long>(reinterpret_cast<uintptr_t>(address) -
                                                     reinterpret_cast<uintptr_t>(info.dli_fbase)),
                          info.dli_sname ? info.dli_sname : "");
    else
        n = std::snprintf(line, sizeof line, "%s: %p\n", what, address);
    [[maybe_unused]] auto written = ::write(STDERR_FILENO, line, static_cast<size_t>(std::max(n, 0)));
}

void printBacktraceAndDie(int signal, siginfo_t* info, void* context) {
    const char header[] = "\n*** fatal signal in a test\n";
    [[maybe_unused]] auto written = ::write(STDERR_FILENO, header, sizeof header - 1);
    printAddress("fault address", info ? info->si_addr : nullptr);
#if defined(__x86_64__)
    if (context) {
        const auto* uc = static_cast<const ucontext_t*>(context);
        printAddress("instruction", reinterpret_cast<const void*>(uc->uc_mcontext.gregs[REG_RIP]));
        printAddress("top of stack", *reinterpret_cast<void* const*>(uc->uc_mcontext.gregs[REG_RSP]));
    }
#endif
    void* frames[64];
    const int n = backtrace(frames, 64);
    for (int i = 0; i < n; ++i)
        printAddress("frame", frames[i]);
    std::signal(signal, SIG_DFL);
    std::raise(signal);
}

[[maybe_unused]] const bool kBacktraceOnCrash = [] {
    struct sigaction action {};
    action.sa_sigaction = printBacktraceAndDie;
    action.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &action, nullptr);
    sigaction(SIGBUS, &action, nullptr);
    return true;
}();
#endif

} // namespace

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

std::string errorOf(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

void expectLineError(const TempDir& dir, const std::string& content, int64_t line,
                     const std::string& fragment, const std::function<void(const fs::path&)>& load) {
    const auto path = dir / "bad.jsonl";
    writeText(path, content);
    try {
        load(path);
        ADD_FAILURE() << "no error for: " << content;
    } catch (const LineError& e) {
        const std::string message = e.what();
        EXPECT_EQ(message.rfind(path.string() + ":" + std::to_string(line) + ": ", 0), 0u) << message;
        EXPECT_NE(message.find(fragment), std::string::npos) << message;
        EXPECT_EQ(e.line(), line);
        EXPECT_EQ(e.path(), path);
    }
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

std::vector<TokenWindow> demoWindows(int64_t n, int64_t len) {
    const auto tokenizer = Tokenizer::load(demoDir());
    TokenDataOptions d;
    d.windows.seqLen = len;
    d.maxSequences = n;
    return loadTokenData(demoDir() / "heldout.txt", tokenizer, d).windows;
}

} // namespace layerlab::test
