#include "tokenizer/tokenizer_text.h"

#include "common/error.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/ucasemap.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <stdexcept>

namespace layerlab::tok {

char32_t decodeUtf8(std::string_view s, size_t i) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const unsigned char lead = b(0);
    if (lead < 0x80) return lead;
    if (lead < 0xE0) return ((lead & 0x1Fu) << 6) | (b(1) & 0x3Fu);
    if (lead < 0xF0) return ((lead & 0x0Fu) << 12) | ((b(1) & 0x3Fu) << 6) | (b(2) & 0x3Fu);
    return ((lead & 0x07u) << 18) | ((b(1) & 0x3Fu) << 12) | ((b(2) & 0x3Fu) << 6) | (b(3) & 0x3Fu);
}

void appendUtf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

namespace {

// Length of the valid sequence at s[i], or the negated length of the maximal invalid prefix
// (at least 1), following the Unicode "maximal subpart" practice that Rust uses.
long validSequenceAt(std::string_view s, size_t i) {
    const auto at = [&](size_t k) -> int {
        return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : -1;
    };
    const int lead = at(0);
    if (lead < 0x80) return 1;
    int need = 0, lo = 0x80, hi = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
        need = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        need = 2;
        if (lead == 0xE0) lo = 0xA0;
        if (lead == 0xED) hi = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        need = 3;
        if (lead == 0xF0) lo = 0x90;
        if (lead == 0xF4) hi = 0x8F;
    } else {
        return -1;
    }
    for (int k = 1; k <= need; ++k) {
        const int c = at(k);
        if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) return -k;
    }
    return need + 1;
}

} // namespace

bool repairUtf8(std::string_view in, std::string& out) {
    size_t i = 0;
    while (i < in.size() && static_cast<unsigned char>(in[i]) < 0x80)
        ++i;
    size_t firstBad = std::string_view::npos;
    for (size_t k = i; k < in.size();) {
        const long n = validSequenceAt(in, k);
        if (n < 0) {
            firstBad = k;
            break;
        }
        k += static_cast<size_t>(n);
    }
    if (firstBad == std::string_view::npos) return false;
    out.assign(in.substr(0, firstBad));
    for (size_t k = firstBad; k < in.size();) {
        const long n = validSequenceAt(in, k);
        if (n > 0) {
            out.append(in.substr(k, static_cast<size_t>(n)));
            k += static_cast<size_t>(n);
        } else {
            out += "\xEF\xBF\xBD";
            k += static_cast<size_t>(-n);
        }
    }
    return true;
}

bool isWhitespace(char32_t c) {
    return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_WHITE_SPACE);
}

bool isAlphanumeric(char32_t c) {
    const auto u = static_cast<UChar32>(c);
    if (u_hasBinaryProperty(u, UCHAR_ALPHABETIC)) return true;
    const int8_t t = u_charType(u);
    return t == U_DECIMAL_DIGIT_NUMBER || t == U_LETTER_NUMBER || t == U_OTHER_NUMBER;
}

bool isWordCharacter(char32_t c) {
    const auto u = static_cast<UChar32>(c);
    if (u_hasBinaryProperty(u, UCHAR_ALPHABETIC) || u_hasBinaryProperty(u, UCHAR_JOIN_CONTROL)) return true;
    const int8_t t = u_charType(u);
    return t == U_NON_SPACING_MARK || t == U_COMBINING_SPACING_MARK || t == U_ENCLOSING_MARK ||
           t == U_DECIMAL_DIGIT_NUMBER || t == U_CONNECTOR_PUNCTUATION;
}

namespace {

struct ByteLevelTables {
    std::array<std::string, 256> chars;
    std::array<int, 324> bytes{}; // every mapped character is below U+0144

    ByteLevelTables() {
        bytes.fill(-1);
        int shifted = 0;
        for (int b = 0; b < 256; ++b) {
            // Printable Latin-1 bytes stand for themselves; the rest move past U+00FF in order.
            const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
            const char32_t c = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + shifted++);
            appendUtf8(chars[static_cast<size_t>(b)], c);
            bytes[c] = b;
        }
    }
};

const ByteLevelTables& byteLevelTables() {
    static const ByteLevelTables tables;
    return tables;
}

} // namespace

const std::array<std::string, 256>& byteLevelChars() {
    return byteLevelTables().chars;
}

int byteLevelByte(char32_t c) {
    return c < 324 ? byteLevelTables().bytes[c] : -1;
}

void normalizeUnicode(std::string& s, UnicodeForm form) {
    bool ascii = true;
    for (const char ch : s)
        ascii = ascii && static_cast<unsigned char>(ch) < 0x80;
    if (ascii) return; // ASCII is invariant under all four forms
    UErrorCode status = U_ZERO_ERROR;
    const icu::Normalizer2* n = nullptr;
    switch (form) {
    case UnicodeForm::NFC:
        n = icu::Normalizer2::getNFCInstance(status);
        break;
    case UnicodeForm::NFD:
        n = icu::Normalizer2::getNFDInstance(status);
        break;
    case UnicodeForm::NFKC:
        n = icu::Normalizer2::getNFKCInstance(status);
        break;
    case UnicodeForm::NFKD:
        n = icu::Normalizer2::getNFKDInstance(status);
        break;
    }
    if (U_FAILURE(status)) throw std::runtime_error(std::string("ICU normalizer: ") + u_errorName(status));
    if (n->isNormalizedUTF8(s, status) && U_SUCCESS(status)) return;
    status = U_ZERO_ERROR;
    std::string out;
    out.reserve(s.size() + 8);
    icu::StringByteSink<std::string> sink(&out);
    n->normalizeUTF8(0, s, sink, nullptr, status);
    if (U_FAILURE(status)) throw std::runtime_error(std::string("ICU normalizer: ") + u_errorName(status));
    s.swap(out);
}

void lowercaseUnicode(std::string& s) {
    bool ascii = true;
    for (const char ch : s)
        ascii = ascii && static_cast<unsigned char>(ch) < 0x80;
    if (ascii) {
        for (char& ch : s) {
            if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
        }
        return;
    }
    std::string out;
    icu::StringByteSink<std::string> sink(&out);
    icu::UnicodeString::fromUTF8(s).toLower(icu::Locale::getRoot()).toUTF8(sink);
    s.swap(out);
}

struct Regex::Code {
    pcre2_code* code = nullptr;
    bool jit = false;
    ~Code() { pcre2_code_free(code); }
};

Regex::Regex(std::string_view pattern, bool literal) : code_(std::make_unique<Code>()) {
    int error = 0;
    PCRE2_SIZE offset = 0;
    // PCRE2_LITERAL refuses PCRE2_UCP; a literal needs no character classes anyway.
    const uint32_t options = PCRE2_UTF | (literal ? PCRE2_LITERAL : PCRE2_UCP);
    code_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &error,
                                &offset, nullptr);
    if (!code_->code) {
        PCRE2_UCHAR message[256];
        pcre2_get_error_message(error, message, sizeof message);
        throw std::runtime_error("bad regex at offset " + std::to_string(offset) + ": " +
                                 reinterpret_cast<const char*>(message));
    }
    code_->jit = pcre2_jit_compile(code_->code, PCRE2_JIT_COMPLETE) == 0;
}

Regex::~Regex() = default;

namespace {

// One match block per thread: only the whole-match offsets are read, so one pair is enough.
pcre2_match_data* threadMatchData() {
    struct Holder {
        pcre2_match_data* data = pcre2_match_data_create(1, nullptr);
        ~Holder() { pcre2_match_data_free(data); }
    };
    thread_local Holder holder;
    return holder.data;
}

} // namespace

void Regex::findAll(std::string_view subject, std::vector<std::pair<size_t, size_t>>& out) const {
    pcre2_match_data* md = threadMatchData();
    const auto* text = reinterpret_cast<PCRE2_SPTR>(subject.data());
    size_t pos = 0;
    while (pos <= subject.size()) {
        const int rc =
            code_->jit ? pcre2_jit_match(code_->code, text, subject.size(), pos, 0, md, nullptr)
                       : pcre2_match(code_->code, text, subject.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            // Match or JIT stack limits on a pathological pattern: bad input, not a crash.
            PCRE2_UCHAR message[256];
            pcre2_get_error_message(rc, message, sizeof message);
            throw Error("regex match failed (PCRE2 error " + std::to_string(rc) + ": " +
                        reinterpret_cast<const char*>(message) + ")");
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        const size_t start = ov[0], end = ov[1];
        if (end > start) {
            out.emplace_back(start, end);
            pos = end;
        } else {
            // Empty match: step over one character so the scan moves on.
            if (start >= subject.size()) break;
            pos = start + utf8Length(static_cast<unsigned char>(subject[start]));
        }
    }
}

} // namespace layerlab::tok
