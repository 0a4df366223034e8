#pragma once
// One libFuzzer target per file in fuzz/targets/ (the file name is the target name):
//
//   // seeds: tests/data/some/*.json        (globs relative to the repository root; one or more lines)
//   // fuzz-options: -max_len=4096         (optional: more libFuzzer flags for tools/fuzz.sh)
//   // core: session_file.cpp              (optional: core files beyond fuzz/CMakeLists.txt's list)
//
//   #include "fuzz_target.h"
//   LAYERLAB_FUZZ_TARGET(name) { ...feed `input` to a core parser... }
//
// The body may throw layerlab::Error (bad input, the expected outcome); anything else escaping
// it, and every crash, hang or sanitizer report, is a finding. Built with LAYERLAB_FUZZ the file
// becomes the fuzzer executable fuzz_<name>; in the test suite the same body is registered under
// its name, and tests/core/test_fuzz_regressions.cpp runs the stored inputs in
// tests/data/fuzz_regressions/<name>/ through it.

#include "common/error.h"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace layerlab::fuzz {

using Entry = void (*)(std::string_view input);

// Every target linked into this program, by name.
std::map<std::string, Entry>& targets();

struct Registration {
    Registration(const char* name, Entry entry) { targets()[name] = entry; }
};

// A folder of this process's own under $TMPDIR (or /tmp), made on first use and removed at exit.
const std::filesystem::path& tmpDir();
// Writes `bytes` to tmpDir()/name (replacing it) and returns the path.
std::filesystem::path writeTmpFile(const std::string& name, std::string_view bytes);

} // namespace layerlab::fuzz

#ifdef LAYERLAB_LIBFUZZER
#define LAYERLAB_FUZZ_TARGET(name)                                                                           \
    static void layerlabFuzzEntry_##name(std::string_view input);                                            \
    extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {                                \
        try {                                                                                                \
            layerlabFuzzEntry_##name(std::string_view(reinterpret_cast<const char*>(data), size));           \
        } catch (const layerlab::Error&) {                                                                   \
        }                                                                                                    \
        return 0;                                                                                            \
    }                                                                                                        \
    static void layerlabFuzzEntry_##name(std::string_view input)
#else
#define LAYERLAB_FUZZ_TARGET(name)                                                                           \
    static void layerlabFuzzEntry_##name(std::string_view input);                                            \
    static const layerlab::fuzz::Registration layerlabFuzzRegistration_##name(#name,                         \
                                                                              layerlabFuzzEntry_##name);     \
    static void layerlabFuzzEntry_##name(std::string_view input)
#endif
