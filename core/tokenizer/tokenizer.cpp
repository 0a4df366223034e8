#include "tokenizer/tokenizer.h"

#include "common/error.h"
#include "io/json_file.h"
#include "tokenizer/tokenizer_bpe.h"
#include "tokenizer/tokenizer_json.h"
#include "tokenizer/tokenizer_pipeline.h"
#include "tokenizer/tokenizer_text.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

namespace layerlab {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct AddedToken {
    std::string content;
    std::string decoded; // what decode emits: the normalised content when `normalized` (as the reference)
    int64_t id = 0;
    bool special = false, lstrip = false, rstrip = false, normalized = false, singleWord = false;
};

// Added tokens as a byte trie, matched leftmost-longest like the reference's Aho-Corasick.
class TokenMatcher {
public:
    void add(const std::string& pattern, size_t tokenIndex) {
        if (pattern.empty()) return;
        size_t node = 0;
        for (const char c : pattern) {
            const auto byte = static_cast<unsigned char>(c);
            auto& kids = nodes_[node].children;
            const auto it =
                std::find_if(kids.begin(), kids.end(), [&](const auto& k) { return k.first == byte; });
            if (it != kids.end()) {
                node = it->second;
            } else {
                nodes_.push_back({});
                nodes_[node].children.emplace_back(byte, nodes_.size() - 1);
                node = nodes_.size() - 1;
            }
        }
        if (nodes_[node].token < 0) nodes_[node].token = static_cast<int64_t>(tokenIndex);
        firstBytes_[static_cast<unsigned char>(pattern[0])] = true;
        empty_ = false;
    }
    bool empty() const { return empty_; }

    struct Match {
        size_t begin, end, token;
    };
    // Next match at or after `from`, or nullopt.
    std::optional<Match> find(std::string_view text, size_t from) const {
        for (size_t i = from; i < text.size(); ++i) {
            if (!firstBytes_[static_cast<unsigned char>(text[i])]) continue;
            size_t node = 0;
            std::optional<Match> best;
            for (size_t k = i; k < text.size(); ++k) {
                const auto byte = static_cast<unsigned char>(text[k]);
                const auto& kids = nodes_[node].children;
                const auto it =
                    std::find_if(kids.begin(), kids.end(), [&](const auto& c) { return c.first == byte; });
                if (it == kids.end()) break;
                node = it->second;
                if (nodes_[node].token >= 0) best = Match{i, k + 1, static_cast<size_t>(nodes_[node].token)};
            }
            if (best) return best;
        }
        return std::nullopt;
    }

private:
    struct Node {
        std::vector<std::pair<unsigned char, size_t>> children;
        int64_t token = -1;
    };
    std::vector<Node> nodes_{Node{}};
    bool firstBytes_[256] = {};
    bool empty_ = true;
};

// A text piece still to tokenize, or an added token already recognised.
struct Segment {
    std::string_view text;
    int64_t token = -1; // index into addedTokens, or -1
    bool first = false; // starts at the beginning of the input
};

std::string readFile(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error(path, "cannot open file");
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    if (!ec && size > kMaxTokenizerJsonBytes)
        throw Error(path, "file is larger than " + std::to_string(kMaxTokenizerJsonBytes >> 20) +
                              " MiB (not a tokenizer.json?)");
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) throw Error(path, "read failed");
    return ss.str();
}

json parseJson(std::string_view text, const fs::path& source) {
    try {
        return json::parse(text);
    } catch (const json::exception& e) {
        throw Error(source, std::string("invalid JSON: ") + e.what());
    }
}

// A special token named in tokenizer_config.json: a string or an AddedToken object ({"content": ...}).
std::optional<std::string> tokenName(const json& j) {
    if (j.is_string()) return j.get<std::string>();
    if (j.is_object() && j.contains("content") && j["content"].is_string())
        return j["content"].get<std::string>();
    return std::nullopt;
}

} // namespace

struct Tokenizer::Impl {
    fs::path source;
    std::unique_ptr<tok::Normalizer> normalizer;
    std::unique_ptr<tok::PreTokenizer> preTokenizer;
    std::unique_ptr<tok::Bpe> model;
    std::unique_ptr<tok::Decoder> decoder;
    std::vector<AddedToken> added;
    std::map<int64_t, size_t> addedById;
    TokenMatcher rawMatcher, normalizedMatcher; // normalized=false tokens, normalized=true tokens
    std::vector<int64_t> prefix, suffix;        // what the post-processor puts around the ids
    std::optional<int64_t> bos, eos;
    int64_t vocabSize = 0;

    void readAddedTokens(const json& list);
    void readPostProcessor(const json& j);
    void splitAdded(std::string_view text, bool first, const TokenMatcher& matcher,
                    std::vector<Segment>& out) const;
    void encodePieces(std::vector<Segment>& segments, std::vector<int64_t>& ids) const;
    std::optional<int64_t> idOf(std::string_view token) const;
};

void Tokenizer::Impl::readAddedTokens(const json& list) {
    if (list.is_null()) return;
    if (!list.is_array()) throw Error(source, "added_tokens is not a list");
    for (const auto& t : list) {
        AddedToken a;
        a.content = tok::stringField(t, "content", source, "added token");
        const auto& id = tok::field(t, "id", source, "added token \"" + a.content + "\"");
        if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() >= (int64_t{1} << 31))
            throw Error(source, "added token \"" + a.content + "\" has a bad id");
        a.id = id.get<int64_t>();
        const std::string ctx = "added token \"" + a.content + "\"";
        a.special = tok::optionalField(t, "special", false, source, ctx);
        a.lstrip = tok::optionalField(t, "lstrip", false, source, ctx);
        a.rstrip = tok::optionalField(t, "rstrip", false, source, ctx);
        a.normalized = tok::optionalField(t, "normalized", !a.special, source, ctx);
        a.singleWord = tok::optionalField(t, "single_word", false, source, ctx);
        a.decoded = a.content;
        addedById[a.id] = added.size();
        added.push_back(std::move(a));
    }
    // Special tokens are matched before the others at equal length, as in the reference.
    for (int pass = 0; pass < 2; ++pass) {
        for (size_t i = 0; i < added.size(); ++i) {
            const AddedToken& a = added[i];
            if (a.special != (pass == 0)) continue;
            if (!a.normalized) {
                rawMatcher.add(a.content, i);
                continue;
            }
            std::string pattern = a.content;
            if (normalizer) normalizer->normalize(pattern);
            added[i].decoded = pattern;
            normalizedMatcher.add(pattern, i);
        }
    }
}

std::optional<int64_t> Tokenizer::Impl::idOf(std::string_view token) const {
    for (const auto& a : added) {
        if (a.content == token) return a.id;
    }
    if (const auto id = model->tokenToId(token)) return *id;
    return std::nullopt;
}

void Tokenizer::Impl::readPostProcessor(const json& j) {
    if (j.is_null()) return;
    const std::string type = tok::stringField(j, "type", source, "post_processor");
    const auto tokenId = [&](const json& pair, const char* what) {
        // Bert/Roberta store [token, id].
        if (!pair.is_array() || pair.size() != 2 || !pair[1].is_number_integer())
            throw Error(source, std::string("post_processor.") + what + " is not [token, id]");
        return pair[1].get<int64_t>();
    };
    if (type == "ByteLevel") return; // it only adjusts offsets
    if (type == "Sequence") {
        const auto& list = tok::field(j, "processors", source, "Sequence post_processor");
        if (!list.is_array()) throw Error(source, "post_processor.processors is not a list");
        for (const auto& p : list)
            readPostProcessor(p);
        return;
    }
    if (type == "BertProcessing" || type == "RobertaProcessing") {
        prefix.push_back(tokenId(tok::field(j, "cls", source, type), "cls"));
        suffix.push_back(tokenId(tok::field(j, "sep", source, type), "sep"));
        return;
    }
    if (type != "TemplateProcessing")
        throw Error(source,
                    "unsupported post_processor type \"" + type +
                        "\" (supported: TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, "
                        "Sequence)");
    const auto& specials = tok::field(j, "special_tokens", source, "TemplateProcessing");
    const auto idsOf = [&](const std::string& name) {
        std::vector<int64_t> ids;
        if (specials.is_object() && specials.contains(name)) {
            const auto& entry = specials[name];
            const auto& list =
                tok::field(entry, "ids", source, "TemplateProcessing special token \"" + name + "\"");
            if (!list.is_array())
                throw Error(source, "TemplateProcessing special token \"" + name + "\": ids");
            for (const auto& id : list) {
                if (!id.is_number_integer())
                    throw Error(source, "TemplateProcessing special token \"" + name + "\": ids");
                ids.push_back(id.get<int64_t>());
            }
            return ids;
        }
        throw Error(source, "TemplateProcessing uses \"" + name + "\", which is not in its special_tokens");
    };
    const auto& single = tok::field(j, "single", source, "TemplateProcessing");
    if (!single.is_array()) throw Error(source, "TemplateProcessing.single is not a list");
    bool seenSequence = false;
    for (const auto& piece : single) {
        if (piece.is_object() && piece.contains("Sequence")) {
            seenSequence = true;
        } else if (piece.is_object() && piece.contains("SpecialToken")) {
            const auto ids =
                idsOf(tok::stringField(piece["SpecialToken"], "id", source, "TemplateProcessing piece"));
            auto& dst = seenSequence ? suffix : prefix;
            dst.insert(dst.end(), ids.begin(), ids.end());
        } else {
            throw Error(source,
                        "TemplateProcessing.single has a piece that is neither Sequence nor SpecialToken");
        }
    }
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::fromJson(std::string_view tokenizerJson, const fs::path& source) {
    if (tokenizerJson.size() > kMaxTokenizerJsonBytes)
        throw Error(source,
                    "tokenizer.json is larger than " + std::to_string(kMaxTokenizerJsonBytes >> 20) + " MiB");
    const json j = parseJson(tokenizerJson, source);
    auto impl = std::make_unique<Impl>();
    impl->source = source;
    try {
        if (!j.is_object()) throw Error(source, "top level is not a JSON object");
        impl->normalizer = tok::makeNormalizer(j.value("normalizer", json()), source);
        impl->preTokenizer = tok::makePreTokenizer(j.value("pre_tokenizer", json()), source);
        impl->model = std::make_unique<tok::Bpe>(tok::field(j, "model", source, "tokenizer"), source);
        impl->decoder = tok::makeDecoder(j.value("decoder", json()), source);
        impl->readAddedTokens(j.value("added_tokens", json()));
        impl->readPostProcessor(j.value("post_processor", json()));
    } catch (const json::exception& e) {
        throw Error(source, std::string("unexpected content: ") + e.what());
    }
    Impl& t = *impl;
    // Distinct ids across the model and the added tokens.
    t.vocabSize = static_cast<int64_t>(t.model->size());
    for (const auto& a : t.added) {
        if (!t.model->idToToken(a.id)) ++t.vocabSize;
    }
    // Without tokenizer_config.json, BOS/EOS come from the template, then from common names.
    if (!t.prefix.empty()) t.bos = t.prefix.front();
    if (!t.suffix.empty()) t.eos = t.suffix.back();
    for (const char* name : {"</s>", "<|end_of_text|>", "<|endoftext|>", "<eos>"}) {
        if (!t.eos) t.eos = t.idOf(name);
    }
    return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::load(const fs::path& modelDir) {
    const fs::path path = modelDir / "tokenizer.json";
    Tokenizer tokenizer = fromJson(readFile(path), path);
    Impl& t = *tokenizer.impl_;

    json config = json::object();
    for (const char* name : {"special_tokens_map.json", "tokenizer_config.json"}) {
        const fs::path p = modelDir / name;
        if (!fs::exists(p)) continue;
        const json j = readJsonFile(p, 16u << 20);
        if (!j.is_object()) throw Error(p, "top level is not a JSON object");
        for (const auto& [k, v] : j.items())
            config[k] = v; // tokenizer_config.json wins
    }
    const fs::path configPath = modelDir / "tokenizer_config.json";
    const auto lookup = [&](const char* key) -> std::optional<int64_t> {
        if (!config.contains(key)) return std::nullopt;
        const auto name = tokenName(config[key]);
        if (!name) return std::nullopt;
        const auto id = t.idOf(*name);
        if (!id) throw Error(configPath, std::string(key) + " \"" + *name + "\" is not in the vocabulary");
        return id;
    };
    if (config.contains("bos_token")) t.bos = lookup("bos_token");
    if (config.contains("eos_token")) t.eos = lookup("eos_token");

    // transformers' Llama/Gemma fast tokenizers rebuild the template from add_bos_token/add_eos_token.
    const std::string cls = config.value("tokenizer_class", std::string());
    const bool llamaLike =
        cls.starts_with("Llama") || cls.starts_with("CodeLlama") || cls.starts_with("Gemma");
    if (llamaLike) {
        const bool addBos = config.value("add_bos_token", true);
        const bool addEos = config.value("add_eos_token", false);
        t.prefix.clear();
        t.suffix.clear();
        if (addBos && t.bos) t.prefix.push_back(*t.bos);
        if (addEos && t.eos) t.suffix.push_back(*t.eos);
    }
    return tokenizer;
}

void Tokenizer::Impl::splitAdded(std::string_view text, bool first, const TokenMatcher& matcher,
                                 std::vector<Segment>& out) const {
    if (matcher.empty()) {
        if (!text.empty()) out.push_back({text, -1, first});
        return;
    }
    // single_word: word characters are those of a Unicode regex's \w (letters, marks, digits, '_').
    const auto wordChar = [](char32_t c) { return tok::isWordCharacter(c); };
    const auto charBefore = [&](size_t pos) {
        size_t k = pos - 1;
        while (k > 0 && (static_cast<unsigned char>(text[k]) & 0xC0) == 0x80)
            --k;
        return std::pair{k, tok::decodeUtf8(text, k)};
    };
    size_t startOffset = 0; // end of the previous piece
    for (size_t from = 0; auto m = matcher.find(text, from);) {
        from = m->end;
        const AddedToken& a = added[m->token];
        size_t start = m->begin, stop = m->end;
        if (a.singleWord) {
            const bool spaceBefore = start == 0 || !wordChar(charBefore(start).second);
            const bool spaceAfter = stop == text.size() || !wordChar(tok::decodeUtf8(text, stop));
            if (!spaceBefore || !spaceAfter) continue;
        }
        if (a.lstrip) {
            while (start > startOffset) {
                const auto [k, c] = charBefore(start);
                if (!tok::isWhitespace(c)) break;
                start = k;
            }
        }
        if (a.rstrip) {
            while (stop < text.size() && tok::isWhitespace(tok::decodeUtf8(text, stop)))
                stop += tok::utf8Length(static_cast<unsigned char>(text[stop]));
        }
        if (start > startOffset)
            out.push_back({text.substr(startOffset, start - startOffset), -1, first && startOffset == 0});
        out.push_back({text.substr(start, stop - start), static_cast<int64_t>(m->token), false});
        startOffset = stop;
        from = std::max(from, stop);
    }
    if (startOffset < text.size()) out.push_back({text.substr(startOffset), -1, first && startOffset == 0});
}

std::vector<int64_t> Tokenizer::encode(std::string_view text, bool addSpecialTokens) const try {
    const Impl& t = *impl_;
    std::string repaired;
    if (tok::repairUtf8(text, repaired)) text = repaired; // invalid bytes become U+FFFD

    // 1. Added tokens that match the raw text; 2. normalise the rest and match normalized added tokens.
    thread_local std::vector<Segment> raw;
    raw.clear();
    t.splitAdded(text, true, t.rawMatcher, raw);
    std::vector<std::string> normalizedTexts; // owns the normalised pieces the segments point into
    normalizedTexts.reserve(raw.size());
    std::vector<Segment> segments;
    segments.reserve(raw.size() * 2);
    for (const Segment& s : raw) {
        if (s.token >= 0 || (!t.normalizer && t.normalizedMatcher.empty())) {
            segments.push_back(s);
            continue;
        }
        normalizedTexts.emplace_back(s.text);
        if (t.normalizer) t.normalizer->normalize(normalizedTexts.back());
        t.splitAdded(normalizedTexts.back(), s.first, t.normalizedMatcher, segments);
    }

    std::vector<int64_t> ids;
    ids.reserve(text.size() / 3 + 4);
    if (addSpecialTokens) ids.insert(ids.end(), t.prefix.begin(), t.prefix.end());
    t.encodePieces(segments, ids);
    if (addSpecialTokens) ids.insert(ids.end(), t.suffix.begin(), t.suffix.end());
    return ids;
} catch (const Error& e) {
    if (!e.file().empty()) throw;
    throw Error(impl_->source, e.what()); // a regex of this tokenizer.json failed on the text
}

void Tokenizer::Impl::encodePieces(std::vector<Segment>& segments, std::vector<int64_t>& ids) const {
    thread_local tok::Pieces in, out;
    for (const Segment& s : segments) {
        if (s.token >= 0) {
            ids.push_back(added[static_cast<size_t>(s.token)].id);
            continue;
        }
        if (!preTokenizer) {
            model->tokenize(s.text, ids);
            continue;
        }
        in.clear();
        in.add(s.text, s.first);
        preTokenizer->apply(in, out);
        for (const auto& p : out.pieces)
            model->tokenize(out.view(p), ids);
    }
}

std::string Tokenizer::decode(const std::vector<int64_t>& ids, bool skipSpecialTokens) const {
    const Impl& t = *impl_;
    std::vector<std::string> tokens;
    tokens.reserve(ids.size());
    for (const int64_t id : ids) {
        if (const auto it = t.addedById.find(id); it != t.addedById.end()) {
            const AddedToken& a = t.added[it->second];
            if (!(skipSpecialTokens && a.special)) tokens.push_back(a.decoded);
        } else if (const std::string* s = t.model->idToToken(id)) {
            tokens.push_back(*s);
        } // unknown ids are skipped, as in the reference
    }
    if (!t.decoder) {
        std::string out;
        for (size_t i = 0; i < tokens.size(); ++i)
            out += (i ? " " : "") + tokens[i];
        return out;
    }
    t.decoder->decode(tokens);
    std::string out;
    for (const auto& s : tokens)
        out += s;
    return out;
}

int64_t Tokenizer::vocabSize() const {
    return impl_->vocabSize;
}
std::optional<int64_t> Tokenizer::bosId() const {
    return impl_->bos;
}
std::optional<int64_t> Tokenizer::eosId() const {
    return impl_->eos;
}
std::optional<int64_t> Tokenizer::tokenToId(std::string_view token) const {
    return impl_->idOf(token);
}

std::string Tokenizer::idToToken(int64_t id) const {
    if (const auto it = impl_->addedById.find(id); it != impl_->addedById.end())
        return impl_->added[it->second].content;
    if (const std::string* s = impl_->model->idToToken(id)) return *s;
    return {};
}

} // namespace layerlab
