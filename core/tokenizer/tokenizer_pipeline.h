#pragma once
// The configurable stages of a Hugging Face tokenizer.json around the model: normalizers,
// pre-tokenizers and decoders. Each factory reads one JSON object and throws Error naming the
// file and the unsupported or malformed part. Internal to the tokenizer.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace layerlab::tok {

class Normalizer {
public:
    virtual ~Normalizer() = default;
    // Rewrites valid UTF-8 in place.
    virtual void normalize(std::string& text) const = 0;
};

// Null JSON gives nullptr (no normalizer).
std::unique_ptr<Normalizer> makeNormalizer(const nlohmann::json& j, const std::filesystem::path& source);

// Pieces of text in one buffer: the pre-tokenizers split and rewrite them step by step, reusing
// the buffers. `first` marks a piece that starts at the beginning of the input (Metaspace "first").
struct Piece {
    uint32_t begin = 0, end = 0;
    bool first = false;
};
struct Pieces {
    std::string text;
    std::vector<Piece> pieces;
    void clear() {
        text.clear();
        pieces.clear();
    }
    void add(std::string_view s, bool first) {
        if (s.empty()) return; // empty pieces are dropped, as in the reference
        const auto b = static_cast<uint32_t>(text.size());
        text += s;
        pieces.push_back({b, static_cast<uint32_t>(text.size()), first});
    }
    std::string_view view(const Piece& p) const {
        return std::string_view(text).substr(p.begin, p.end - p.begin);
    }
};

class PreTokenizer {
public:
    virtual ~PreTokenizer() = default;
    // Reads `in`, writes the split/rewritten pieces to `out` (cleared first).
    virtual void apply(const Pieces& in, Pieces& out) const = 0;
};

std::unique_ptr<PreTokenizer> makePreTokenizer(const nlohmann::json& j, const std::filesystem::path& source);

class Decoder {
public:
    virtual ~Decoder() = default;
    // The reference's decode_chain: token strings in, strings out (joined by the caller).
    virtual void decode(std::vector<std::string>& tokens) const = 0;
};

std::unique_ptr<Decoder> makeDecoder(const nlohmann::json& j, const std::filesystem::path& source);

// Reads {"String": s} or {"Regex": r} patterns used by Split/Replace; returns (text, isRegex).
std::pair<std::string, bool> readPattern(const nlohmann::json& j, const std::filesystem::path& source,
                                         const char* what);

} // namespace layerlab::tok
