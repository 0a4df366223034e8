// Tokenizer throughput, single-threaded: encodes N MB of a text file (repeated as needed) in
// chunks of about 4 KB cut at line ends, as a data loader feeds documents; prints tokens/s.
// Same chunks as bench/bench_tokenizer_hf.js, the Hugging Face reference.
//   bench_tokenizer MODEL_DIR TEXT_FILE [MB=8]

#include "common/error.h"
#include "tokenizer/tokenizer.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s MODEL_DIR TEXT_FILE [MB=8]\n", argv[0]);
        return 2;
    }
    try {
        const double mb = argc > 3 ? std::stod(argv[3]) : 8.0;
        std::ifstream in(argv[2], std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        const std::string source = ss.str();
        if (source.empty()) throw layerlab::Error(argv[2], "empty or unreadable");
        std::string text;
        while (text.size() < mb * 1e6)
            text += source;
        text.resize(static_cast<size_t>(mb * 1e6));
        std::vector<std::string> chunks;
        for (size_t pos = 0; pos < text.size();) {
            size_t end = text.find('\n', std::min(pos + 4096, text.size()));
            end = end == std::string::npos ? text.size() : end + 1;
            chunks.push_back(text.substr(pos, end - pos));
            pos = end;
        }

        const auto t0 = std::chrono::steady_clock::now();
        const auto tokenizer = layerlab::Tokenizer::load(argv[1]);
        const auto t1 = std::chrono::steady_clock::now();
        size_t tokens = 0;
        std::vector<std::vector<int64_t>> encoded;
        encoded.reserve(chunks.size());
        for (const auto& c : chunks) {
            encoded.push_back(tokenizer.encode(c, false));
            tokens += encoded.back().size();
        }
        const auto t2 = std::chrono::steady_clock::now();
        size_t bytes = 0;
        for (const auto& ids : encoded)
            bytes += tokenizer.decode(ids).size();
        const auto t3 = std::chrono::steady_clock::now();
        const auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
        std::printf("load %.2f s; encode %.1f MB in %.2f s: %zu tokens, %.2f M tokens/s, %.1f MB/s; "
                    "decode %.2f M tokens/s (%zu bytes)\n",
                    secs(t0, t1), text.size() / 1e6, secs(t1, t2), tokens, tokens / secs(t1, t2) / 1e6,
                    text.size() / secs(t1, t2) / 1e6, tokens / secs(t2, t3) / 1e6, bytes);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }
}
