// Normalizers of tokenizer.json: NFC/NFD/NFKC/NFKD, Lowercase, Prepend, Replace, Strip, Sequence.

#include "tokenizer/tokenizer_json.h"
#include "tokenizer/tokenizer_pipeline.h"
#include "tokenizer/tokenizer_text.h"

namespace layerlab::tok {

namespace fs = std::filesystem;

std::pair<std::string, bool> readPattern(const nlohmann::json& j, const fs::path& source, const char* what) {
    if (j.is_object()) {
        if (j.contains("String") && j["String"].is_string()) return {j["String"].get<std::string>(), false};
        if (j.contains("Regex") && j["Regex"].is_string()) return {j["Regex"].get<std::string>(), true};
    }
    throw Error(source, std::string(what) + " pattern must be {\"String\": ...} or {\"Regex\": ...}");
}

namespace {

std::unique_ptr<Regex> compilePattern(const std::pair<std::string, bool>& pattern, const fs::path& source,
                                      const char* what) {
    try {
        return std::make_unique<Regex>(pattern.first, !pattern.second);
    } catch (const std::runtime_error& e) {
        throw Error(source, std::string(what) + ": " + e.what());
    }
}

class UnicodeNormalizer final : public Normalizer {
public:
    explicit UnicodeNormalizer(UnicodeForm form) : form_(form) {}
    void normalize(std::string& text) const override { normalizeUnicode(text, form_); }

private:
    UnicodeForm form_;
};

class LowercaseNormalizer final : public Normalizer {
public:
    void normalize(std::string& text) const override { lowercaseUnicode(text); }
};

class PrependNormalizer final : public Normalizer {
public:
    explicit PrependNormalizer(std::string prefix) : prefix_(std::move(prefix)) {}
    void normalize(std::string& text) const override {
        if (!text.empty()) text.insert(0, prefix_); // empty text stays empty
    }

private:
    std::string prefix_;
};

class ReplaceNormalizer final : public Normalizer {
public:
    ReplaceNormalizer(std::unique_ptr<Regex> re, std::string content)
        : re_(std::move(re)), content_(std::move(content)) {}
    void normalize(std::string& text) const override {
        thread_local std::vector<std::pair<size_t, size_t>> matches;
        matches.clear();
        re_->findAll(text, matches);
        if (matches.empty()) return;
        std::string out;
        out.reserve(text.size() + matches.size() * content_.size());
        size_t prev = 0;
        for (const auto& [b, e] : matches) {
            out.append(text, prev, b - prev);
            out += content_;
            prev = e;
        }
        out.append(text, prev, std::string::npos);
        text.swap(out);
    }

private:
    std::unique_ptr<Regex> re_;
    std::string content_;
};

class StripNormalizer final : public Normalizer {
public:
    StripNormalizer(bool left, bool right) : left_(left), right_(right) {}
    void normalize(std::string& text) const override {
        size_t b = 0, e = text.size();
        if (left_) {
            while (b < e && isWhitespace(decodeUtf8(text, b)))
                b += utf8Length(static_cast<unsigned char>(text[b]));
        }
        if (right_) {
            while (e > b) {
                size_t k = e - 1;
                while (k > b && (static_cast<unsigned char>(text[k]) & 0xC0) == 0x80)
                    --k;
                if (!isWhitespace(decodeUtf8(text, k))) break;
                e = k;
            }
        }
        text = text.substr(b, e - b);
    }

private:
    bool left_, right_;
};

class SequenceNormalizer final : public Normalizer {
public:
    explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> steps) : steps_(std::move(steps)) {}
    void normalize(std::string& text) const override {
        for (const auto& s : steps_)
            s->normalize(text);
    }

private:
    std::vector<std::unique_ptr<Normalizer>> steps_;
};

} // namespace

std::unique_ptr<Normalizer> makeNormalizer(const nlohmann::json& j, const fs::path& source) {
    if (j.is_null()) return nullptr;
    const std::string type = stringField(j, "type", source, "normalizer");
    if (type == "NFC") return std::make_unique<UnicodeNormalizer>(UnicodeForm::NFC);
    if (type == "NFD") return std::make_unique<UnicodeNormalizer>(UnicodeForm::NFD);
    if (type == "NFKC") return std::make_unique<UnicodeNormalizer>(UnicodeForm::NFKC);
    if (type == "NFKD") return std::make_unique<UnicodeNormalizer>(UnicodeForm::NFKD);
    if (type == "Lowercase") return std::make_unique<LowercaseNormalizer>();
    if (type == "Prepend")
        return std::make_unique<PrependNormalizer>(stringField(j, "prepend", source, "Prepend"));
    if (type == "Replace") {
        auto re =
            compilePattern(readPattern(field(j, "pattern", source, "Replace"), source, "Replace normalizer"),
                           source, "Replace normalizer");
        return std::make_unique<ReplaceNormalizer>(std::move(re),
                                                   stringField(j, "content", source, "Replace"));
    }
    if (type == "Strip") {
        return std::make_unique<StripNormalizer>(optionalField(j, "strip_left", true, source, "Strip"),
                                                 optionalField(j, "strip_right", true, source, "Strip"));
    }
    if (type == "Sequence") {
        const auto list = field(j, "normalizers", source, "Sequence normalizer");
        if (!list.is_array()) throw Error(source, "Sequence normalizer: \"normalizers\" is not a list");
        std::vector<std::unique_ptr<Normalizer>> steps;
        for (const auto& item : list) {
            if (auto n = makeNormalizer(item, source)) steps.push_back(std::move(n));
        }
        return std::make_unique<SequenceNormalizer>(std::move(steps));
    }
    throw Error(source,
                "unsupported normalizer type \"" + type +
                    "\" (supported: NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, Sequence)");
}

} // namespace layerlab::tok
