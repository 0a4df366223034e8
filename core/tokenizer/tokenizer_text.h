#pragma once
// Text helpers shared by the tokenizer pieces: UTF-8 walking, the byte-level alphabet, Unicode
// properties (ICU), and a PCRE2 regex that finds matches the way the Rust tokenizers' Oniguruma does.
// Internal to the tokenizer; not part of the public API.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace layerlab::tok {

// Byte length of the UTF-8 sequence that starts with `lead` (valid text assumed).
inline size_t utf8Length(unsigned char lead) {
    if (lead < 0x80) return 1;
    if (lead < 0xE0) return 2;
    if (lead < 0xF0) return 3;
    return 4;
}

// Decodes the character at s[i] (valid UTF-8 assumed).
char32_t decodeUtf8(std::string_view s, size_t i);
void appendUtf8(std::string& out, char32_t c);

// Replaces each maximal invalid subsequence with U+FFFD, as Rust's String::from_utf8_lossy does;
// returns false (and leaves `out` untouched) when `in` is already valid.
bool repairUtf8(std::string_view in, std::string& out);

// Rust's char::is_whitespace (White_Space) and char::is_alphanumeric (Alphabetic or N*).
bool isWhitespace(char32_t c);
bool isAlphanumeric(char32_t c);
// A Unicode regex's \w: Alphabetic, marks, decimal digits, connector punctuation, Join_Control.
bool isWordCharacter(char32_t c);

// GPT-2's byte-to-character table: each byte's character, UTF-8 encoded.
const std::array<std::string, 256>& byteLevelChars();
// The byte a byte-level character stands for, or -1.
int byteLevelByte(char32_t c);

enum class UnicodeForm { NFC, NFD, NFKC, NFKD };
// Normalises valid UTF-8 in place (ICU).
void normalizeUnicode(std::string& s, UnicodeForm form);
// Full Unicode lower-casing (ICU root locale), as Rust's str::to_lowercase.
void lowercaseUnicode(std::string& s);

// A compiled PCRE2 pattern in UTF + UCP mode (JIT when available). Subjects must be valid UTF-8.
class Regex {
public:
    // `literal` compiles the pattern as a plain string. Throws std::runtime_error with PCRE2's message.
    Regex(std::string_view pattern, bool literal);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // Appends the byte ranges of the non-overlapping, non-empty matches, left to right.
    void findAll(std::string_view subject, std::vector<std::pair<size_t, size_t>>& out) const;

private:
    struct Code;
    std::unique_ptr<Code> code_;
};

} // namespace layerlab::tok
