// Pre-tokenizers of tokenizer.json: Split, ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit,
// Sequence. Splitting follows the reference's NormalizedString::split behaviours.

#include "tokenizer/tokenizer_json.h"
#include "tokenizer/tokenizer_pipeline.h"
#include "tokenizer/tokenizer_text.h"

namespace layerlab::tok {

namespace fs = std::filesystem;

namespace {

enum class Behavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

Behavior readBehavior(const nlohmann::json& j, const fs::path& source, const char* what) {
    const std::string b = stringField(j, "behavior", source, what);
    if (b == "Removed") return Behavior::Removed;
    if (b == "Isolated") return Behavior::Isolated;
    if (b == "MergedWithPrevious") return Behavior::MergedWithPrevious;
    if (b == "MergedWithNext") return Behavior::MergedWithNext;
    if (b == "Contiguous") return Behavior::Contiguous;
    throw Error(source, std::string(what) + ": unknown split behavior \"" + b + "\"");
}

using Spans = std::vector<std::pair<size_t, size_t>>;

// Splits `text` at the given matches, appending the resulting pieces to `out`.
void splitByMatches(std::string_view text, bool first, const Spans& matches, bool invert, Behavior behavior,
                    Pieces& out) {
    struct Part {
        size_t b, e;
        bool match;
    };
    thread_local std::vector<Part> parts, merged;
    parts.clear();
    size_t prev = 0;
    for (const auto& [b, e] : matches) {
        if (b != prev) parts.push_back({prev, b, invert});
        parts.push_back({b, e, !invert});
        prev = e;
    }
    if (prev != text.size() || text.empty()) parts.push_back({prev, text.size(), invert});

    merged.clear();
    bool previousMatch = false;
    switch (behavior) {
    case Behavior::Isolated:
        for (const auto& p : parts)
            merged.push_back({p.b, p.e, false});
        break;
    case Behavior::Removed:
        merged = parts;
        break;
    case Behavior::Contiguous:
        for (const auto& p : parts) {
            if (p.match == previousMatch && !merged.empty()) {
                merged.back().e = p.e;
            } else {
                merged.push_back({p.b, p.e, false});
            }
            previousMatch = p.match;
        }
        break;
    case Behavior::MergedWithPrevious:
        for (const auto& p : parts) {
            if (p.match && !previousMatch && !merged.empty()) {
                merged.back().e = p.e;
            } else {
                merged.push_back({p.b, p.e, false});
            }
            previousMatch = p.match;
        }
        break;
    case Behavior::MergedWithNext:
        for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
            if (it->match && !previousMatch && !merged.empty()) {
                merged.back().b = it->b;
            } else {
                merged.push_back({it->b, it->e, false});
            }
            previousMatch = it->match;
        }
        std::reverse(merged.begin(), merged.end());
        break;
    }
    for (const auto& p : merged) {
        if (!p.match) out.add(text.substr(p.b, p.e - p.b), first && p.b == 0);
    }
}

class SplitPreTokenizer final : public PreTokenizer {
public:
    SplitPreTokenizer(std::unique_ptr<Regex> re, Behavior behavior, bool invert)
        : re_(std::move(re)), behavior_(behavior), invert_(invert) {}
    void apply(const Pieces& in, Pieces& out) const override {
        out.clear();
        thread_local Spans matches;
        for (const auto& p : in.pieces) {
            matches.clear();
            re_->findAll(in.view(p), matches);
            splitByMatches(in.view(p), p.first, matches, invert_, behavior_, out);
        }
    }

private:
    std::unique_ptr<Regex> re_;
    Behavior behavior_;
    bool invert_;
};

// GPT-2's pattern, used by ByteLevel when use_regex is set.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

class ByteLevelPreTokenizer final : public PreTokenizer {
public:
    ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex)
        : addPrefixSpace_(addPrefixSpace),
          re_(useRegex ? std::make_unique<Regex>(kGpt2Pattern, false) : nullptr) {}
    void apply(const Pieces& in, Pieces& out) const override {
        out.clear();
        const auto& chars = byteLevelChars();
        thread_local Spans matches;
        thread_local std::string prefixed;
        auto emit = [&](std::string_view s, bool first) {
            if (s.empty()) return;
            const auto b = static_cast<uint32_t>(out.text.size());
            for (const char c : s)
                out.text += chars[static_cast<unsigned char>(c)];
            out.pieces.push_back({b, static_cast<uint32_t>(out.text.size()), first});
        };
        for (const auto& p : in.pieces) {
            std::string_view text = in.view(p);
            if (addPrefixSpace_ && !text.starts_with(' ')) {
                prefixed.assign(" ");
                prefixed += text;
                text = prefixed;
            }
            if (!re_) {
                emit(text, p.first);
                continue;
            }
            matches.clear();
            re_->findAll(text, matches);
            size_t prev = 0;
            for (const auto& [b, e] : matches) {
                emit(text.substr(prev, b - prev), p.first && prev == 0);
                emit(text.substr(b, e - b), p.first && b == 0);
                prev = e;
            }
            emit(text.substr(prev), p.first && prev == 0);
        }
    }

private:
    bool addPrefixSpace_;
    std::unique_ptr<Regex> re_;
};

enum class PrependScheme { Always, First, Never };

PrependScheme readPrependScheme(const nlohmann::json& j, const fs::path& source, const char* what) {
    if (j.contains("prepend_scheme")) {
        const std::string s = stringField(j, "prepend_scheme", source, what);
        if (s == "always") return PrependScheme::Always;
        if (s == "first") return PrependScheme::First;
        if (s == "never") return PrependScheme::Never;
        throw Error(source, std::string(what) + ": unknown prepend_scheme \"" + s + "\"");
    }
    // Files written before prepend_scheme existed say add_prefix_space.
    return optionalField(j, "add_prefix_space", true, source, what) ? PrependScheme::Always
                                                                    : PrependScheme::Never;
}

std::string readReplacement(const nlohmann::json& j, const fs::path& source, const char* what) {
    const std::string r = optionalField<std::string>(j, "replacement", "\xE2\x96\x81", source, what);
    if (r.empty() || utf8Length(static_cast<unsigned char>(r[0])) != r.size())
        throw Error(source, std::string(what) + ": replacement must be one character");
    return r;
}

class MetaspacePreTokenizer final : public PreTokenizer {
public:
    MetaspacePreTokenizer(std::string replacement, PrependScheme scheme, bool split)
        : replacement_(std::move(replacement)), scheme_(scheme), split_(split) {}
    void apply(const Pieces& in, Pieces& out) const override {
        out.clear();
        thread_local std::string word;
        for (const auto& p : in.pieces) {
            word.clear();
            for (const char c : in.view(p)) {
                if (c == ' ') {
                    word += replacement_;
                } else {
                    word += c;
                }
            }
            const bool prepend =
                scheme_ == PrependScheme::Always || (scheme_ == PrependScheme::First && p.first);
            if (prepend && !std::string_view(word).starts_with(replacement_)) word.insert(0, replacement_);
            if (!split_) {
                out.add(word, p.first);
                continue;
            }
            // Split before each replacement character (MergedWithNext).
            size_t start = 0;
            for (size_t k = word.find(replacement_, 1); k != std::string::npos;
                 k = word.find(replacement_, k + replacement_.size())) {
                out.add(std::string_view(word).substr(start, k - start), p.first && start == 0);
                start = k;
            }
            out.add(std::string_view(word).substr(start), p.first && start == 0);
        }
    }

private:
    std::string replacement_;
    PrependScheme scheme_;
    bool split_;
};

class SequencePreTokenizer final : public PreTokenizer {
public:
    explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> steps)
        : steps_(std::move(steps)) {}
    void apply(const Pieces& in, Pieces& out) const override {
        if (steps_.empty()) {
            out = in;
            return;
        }
        // Scratch buffers reused between calls. A Sequence nested in a Sequence gets its own: sharing
        // them made the inner one write its result over its own input (and drop the text).
        thread_local int depth = 0;
        thread_local Pieces sharedA, sharedB;
        Pieces localA, localB;
        Pieces& a = depth == 0 ? sharedA : localA;
        Pieces& b = depth == 0 ? sharedB : localB;
        struct Nesting {
            Nesting() { ++depth; }
            ~Nesting() { --depth; }
        } nesting;
        const Pieces* cur = &in;
        for (size_t i = 0; i < steps_.size(); ++i) {
            Pieces& dst = i + 1 == steps_.size() ? out : (cur == &a ? b : a);
            steps_[i]->apply(*cur, dst);
            cur = &dst;
        }
    }

private:
    std::vector<std::unique_ptr<PreTokenizer>> steps_;
};

std::unique_ptr<Regex> compile(std::string_view pattern, bool literal, const fs::path& source,
                               const char* what) {
    try {
        return std::make_unique<Regex>(pattern, literal);
    } catch (const std::runtime_error& e) {
        throw Error(source, std::string(what) + ": " + e.what());
    }
}

} // namespace

std::unique_ptr<PreTokenizer> makePreTokenizer(const nlohmann::json& j, const fs::path& source) {
    if (j.is_null()) return nullptr;
    const std::string type = stringField(j, "type", source, "pre_tokenizer");
    if (type == "Split") {
        const auto pattern = readPattern(field(j, "pattern", source, "Split"), source, "Split pre-tokenizer");
        return std::make_unique<SplitPreTokenizer>(
            compile(pattern.first, !pattern.second, source, "Split pre-tokenizer"),
            readBehavior(j, source, "Split pre-tokenizer"),
            optionalField(j, "invert", false, source, "Split"));
    }
    if (type == "ByteLevel") {
        return std::make_unique<ByteLevelPreTokenizer>(
            optionalField(j, "add_prefix_space", true, source, type),
            optionalField(j, "use_regex", true, source, type));
    }
    if (type == "Metaspace") {
        return std::make_unique<MetaspacePreTokenizer>(
            readReplacement(j, source, "Metaspace pre-tokenizer"),
            readPrependScheme(j, source, "Metaspace pre-tokenizer"),
            optionalField(j, "split", true, source, type));
    }
    if (type == "Digits") {
        const bool individual = optionalField(j, "individual_digits", false, source, type);
        return std::make_unique<SplitPreTokenizer>(compile("\\p{N}", false, source, "Digits"),
                                                   individual ? Behavior::Isolated : Behavior::Contiguous,
                                                   false);
    }
    if (type == "Whitespace") {
        return std::make_unique<SplitPreTokenizer>(compile("\\w+|[^\\w\\s]+", false, source, "Whitespace"),
                                                   Behavior::Removed, true);
    }
    if (type == "WhitespaceSplit") {
        return std::make_unique<SplitPreTokenizer>(compile("\\s", false, source, "WhitespaceSplit"),
                                                   Behavior::Removed, false);
    }
    if (type == "Sequence") {
        const auto list = field(j, "pretokenizers", source, "Sequence pre-tokenizer");
        if (!list.is_array()) throw Error(source, "Sequence pre-tokenizer: \"pretokenizers\" is not a list");
        std::vector<std::unique_ptr<PreTokenizer>> steps;
        for (const auto& item : list) {
            if (auto p = makePreTokenizer(item, source)) steps.push_back(std::move(p));
        }
        return std::make_unique<SequencePreTokenizer>(std::move(steps));
    }
    throw Error(source,
                "unsupported pre_tokenizer type \"" + type +
                    "\" (supported: Split, ByteLevel, Metaspace, Digits, Whitespace, WhitespaceSplit, "
                    "Sequence)");
}

} // namespace layerlab::tok
