// Decoders of tokenizer.json: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence.
// Each rewrites the list of token strings as the reference's decode_chain does.

#include "tokenizer/tokenizer_json.h"
#include "tokenizer/tokenizer_pipeline.h"
#include "tokenizer/tokenizer_text.h"

namespace layerlab::tok {

namespace fs = std::filesystem;

namespace {

// Bytes to text with invalid sequences replaced by U+FFFD.
std::string lossyUtf8(std::string bytes) {
    std::string repaired;
    return repairUtf8(bytes, repaired) ? repaired : bytes;
}

class ByteLevelDecoder final : public Decoder {
public:
    void decode(std::vector<std::string>& tokens) const override {
        std::string bytes;
        for (const auto& t : tokens) {
            const size_t mark = bytes.size();
            bool mapped = true;
            for (size_t i = 0; i < t.size() && mapped;) {
                const int b = byteLevelByte(decodeUtf8(t, i));
                if (b < 0) {
                    mapped = false;
                } else {
                    bytes += static_cast<char>(b);
                }
                i += utf8Length(static_cast<unsigned char>(t[i]));
            }
            // A token with a character outside the byte alphabet (an added token) is kept as written.
            if (!mapped) bytes.replace(mark, std::string::npos, t);
        }
        tokens.assign(1, lossyUtf8(std::move(bytes)));
    }
};

class ReplaceDecoder final : public Decoder {
public:
    ReplaceDecoder(std::unique_ptr<Regex> re, std::string content)
        : re_(std::move(re)), content_(std::move(content)) {}
    void decode(std::vector<std::string>& tokens) const override {
        std::vector<std::pair<size_t, size_t>> matches;
        for (auto& t : tokens) {
            matches.clear();
            re_->findAll(t, matches);
            if (matches.empty()) continue;
            std::string out;
            size_t prev = 0;
            for (const auto& [b, e] : matches) {
                out.append(t, prev, b - prev);
                out += content_;
                prev = e;
            }
            out.append(t, prev, std::string::npos);
            t.swap(out);
        }
    }

private:
    std::unique_ptr<Regex> re_;
    std::string content_;
};

int hexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

class ByteFallbackDecoder final : public Decoder {
public:
    void decode(std::vector<std::string>& tokens) const override {
        std::vector<std::string> out;
        out.reserve(tokens.size());
        std::string pending;
        auto flush = [&] {
            if (pending.empty()) return;
            std::string repaired;
            if (!repairUtf8(pending, repaired)) {
                out.push_back(pending);
            } else {
                // Invalid byte runs become one U+FFFD per byte, as in the reference.
                for (size_t i = 0; i < pending.size(); ++i)
                    out.emplace_back("\xEF\xBF\xBD");
            }
            pending.clear();
        };
        for (auto& t : tokens) {
            if (t.size() == 6 && t.starts_with("<0x") && t.ends_with('>') && hexDigit(t[3]) >= 0 &&
                hexDigit(t[4]) >= 0) {
                pending += static_cast<char>(hexDigit(t[3]) * 16 + hexDigit(t[4]));
                continue;
            }
            flush();
            out.push_back(std::move(t));
        }
        flush();
        tokens.swap(out);
    }
};

class FuseDecoder final : public Decoder {
public:
    void decode(std::vector<std::string>& tokens) const override {
        std::string all;
        for (const auto& t : tokens)
            all += t;
        tokens.assign(1, std::move(all));
    }
};

class StripDecoder final : public Decoder {
public:
    StripDecoder(char32_t content, size_t start, size_t stop)
        : content_(content), start_(start), stop_(stop) {}
    void decode(std::vector<std::string>& tokens) const override {
        for (auto& t : tokens) {
            std::vector<std::pair<size_t, char32_t>> chars; // (byte offset, character)
            for (size_t i = 0; i < t.size(); i += utf8Length(static_cast<unsigned char>(t[i])))
                chars.emplace_back(i, decodeUtf8(t, i));
            size_t startCut = 0;
            for (size_t i = 0; i < start_ && i < chars.size() && chars[i].second == content_; ++i)
                startCut = i + 1;
            size_t stopCut = chars.size();
            for (size_t i = 0; i < stop_ && i < chars.size(); ++i) {
                const size_t index = chars.size() - i - 1;
                if (chars[index].second != content_) break;
                stopCut = index;
            }
            if (stopCut < startCut) stopCut = startCut;
            const size_t b = startCut < chars.size() ? chars[startCut].first : t.size();
            const size_t e = stopCut < chars.size() ? chars[stopCut].first : t.size();
            t = t.substr(b, e - b);
        }
    }

private:
    char32_t content_;
    size_t start_, stop_;
};

class MetaspaceDecoder final : public Decoder {
public:
    MetaspaceDecoder(std::string replacement, bool prepends)
        : replacement_(std::move(replacement)), prepends_(prepends) {}
    void decode(std::vector<std::string>& tokens) const override {
        for (size_t i = 0; i < tokens.size(); ++i) {
            // The first token loses its replacement characters when a prefix was prepended.
            const std::string with = i == 0 && prepends_ ? "" : " ";
            std::string out;
            const std::string& t = tokens[i];
            for (size_t k = 0; k < t.size();) {
                if (t.compare(k, replacement_.size(), replacement_) == 0) {
                    out += with;
                    k += replacement_.size();
                } else {
                    out += t[k++];
                }
            }
            tokens[i].swap(out);
        }
    }

private:
    std::string replacement_;
    bool prepends_;
};

class SequenceDecoder final : public Decoder {
public:
    explicit SequenceDecoder(std::vector<std::unique_ptr<Decoder>> steps) : steps_(std::move(steps)) {}
    void decode(std::vector<std::string>& tokens) const override {
        for (const auto& s : steps_)
            s->decode(tokens);
    }

private:
    std::vector<std::unique_ptr<Decoder>> steps_;
};

} // namespace

std::unique_ptr<Decoder> makeDecoder(const nlohmann::json& j, const fs::path& source) {
    if (j.is_null()) return nullptr;
    const std::string type = stringField(j, "type", source, "decoder");
    if (type == "ByteLevel") return std::make_unique<ByteLevelDecoder>();
    if (type == "ByteFallback") return std::make_unique<ByteFallbackDecoder>();
    if (type == "Fuse") return std::make_unique<FuseDecoder>();
    if (type == "Replace") {
        const auto pattern =
            readPattern(field(j, "pattern", source, "Replace decoder"), source, "Replace decoder");
        std::unique_ptr<Regex> re;
        try {
            re = std::make_unique<Regex>(pattern.first, !pattern.second);
        } catch (const std::runtime_error& e) {
            throw Error(source, std::string("Replace decoder: ") + e.what());
        }
        return std::make_unique<ReplaceDecoder>(std::move(re),
                                                stringField(j, "content", source, "Replace decoder"));
    }
    if (type == "Strip") {
        const std::string content = stringField(j, "content", source, "Strip decoder");
        if (content.empty() || utf8Length(static_cast<unsigned char>(content[0])) != content.size())
            throw Error(source, "Strip decoder: content must be one character");
        return std::make_unique<StripDecoder>(decodeUtf8(content, 0),
                                              optionalField<size_t>(j, "start", 0, source, "Strip decoder"),
                                              optionalField<size_t>(j, "stop", 0, source, "Strip decoder"));
    }
    if (type == "Metaspace") {
        std::string replacement = optionalField<std::string>(j, "replacement", "\xE2\x96\x81", source, type);
        bool prepends = optionalField(j, "add_prefix_space", true, source, type);
        if (j.contains("prepend_scheme"))
            prepends = optionalField<std::string>(j, "prepend_scheme", "always", source, type) != "never";
        if (replacement.empty()) throw Error(source, "Metaspace decoder: empty replacement");
        return std::make_unique<MetaspaceDecoder>(std::move(replacement), prepends);
    }
    if (type == "Sequence") {
        const auto list = field(j, "decoders", source, "Sequence decoder");
        if (!list.is_array()) throw Error(source, "Sequence decoder: \"decoders\" is not a list");
        std::vector<std::unique_ptr<Decoder>> steps;
        for (const auto& item : list) {
            if (auto d = makeDecoder(item, source)) steps.push_back(std::move(d));
        }
        return std::make_unique<SequenceDecoder>(std::move(steps));
    }
    throw Error(source,
                "unsupported decoder type \"" + type +
                    "\" (supported: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence)");
}

} // namespace layerlab::tok
