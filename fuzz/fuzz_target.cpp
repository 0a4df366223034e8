#include "fuzz_target.h"

#include "io/file_tree.h"

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace layerlab::fuzz {

namespace fs = std::filesystem;

std::map<std::string, Entry>& targets() {
    static std::map<std::string, Entry> all;
    return all;
}

namespace {

struct TmpDir {
    fs::path path;
    TmpDir() {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base && *base ? base : "/tmp") + "/layerlab-fuzz-XXXXXX";
        if (!::mkdtemp(pattern.data()))
            throw std::runtime_error(pattern + ": cannot create a temporary folder");
        path = pattern;
    }
    ~TmpDir() { removeTree(path); } // not fs::remove_all: see file_tree.h
};

} // namespace

const fs::path& tmpDir() {
    static TmpDir dir;
    return dir.path;
}

fs::path writeTmpFile(const std::string& name, std::string_view bytes) {
    const fs::path p = tmpDir() / name;
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    out.close();
    if (!out) throw std::runtime_error(p.string() + ": cannot write the fuzz input");
    return p;
}

} // namespace layerlab::fuzz
