#include "tokenizer/tokenizer_bpe.h"

#include "tokenizer/tokenizer_json.h"
#include "tokenizer/tokenizer_text.h"

#include <algorithm>
#include <mutex>

namespace layerlab::tok {

namespace fs = std::filesystem;

namespace {

// Far beyond any real vocabulary (the largest are ~260k), small enough to refuse absurd files early.
constexpr size_t kMaxVocab = 4'000'000;
constexpr size_t kMaxMerges = 8'000'000;
// Words this long are not cached (they are mostly whole lines of a SentencePiece-style tokenizer).
constexpr size_t kMaxCachedWordBytes = 256;
constexpr size_t kCacheCapacity = 200'000;

} // namespace

// (left id, right id) -> (rank, merged id), open addressing: this lookup is the hot loop of merging.
struct Bpe::MergeTable {
    struct Slot {
        uint64_t key = kEmpty;
        uint32_t rank = 0;
        int32_t id = 0;
    };
    static constexpr uint64_t kEmpty = ~uint64_t{0};
    std::vector<Slot> slots;
    uint64_t mask = 0;

    explicit MergeTable(size_t n) {
        size_t cap = 16;
        while (cap < n + n / 2)
            cap *= 2;
        slots.resize(cap);
        mask = cap - 1;
    }
    static uint64_t key(int32_t a, int32_t b) {
        return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    }
    static uint64_t hash(uint64_t x) {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        return x;
    }
    void insert(int32_t a, int32_t b, uint32_t rank, int32_t id) {
        const uint64_t k = key(a, b);
        for (uint64_t i = hash(k) & mask;; i = (i + 1) & mask) {
            if (slots[i].key == kEmpty || slots[i].key == k) {
                slots[i] = {k, rank, id}; // a repeated pair keeps its last rank, as the reference's map does
                return;
            }
        }
    }
    const Slot* find(int32_t a, int32_t b) const {
        const uint64_t k = key(a, b);
        for (uint64_t i = hash(k) & mask;; i = (i + 1) & mask) {
            if (slots[i].key == k) return &slots[i];
            if (slots[i].key == kEmpty) return nullptr;
        }
    }
};

Bpe::Bpe(const nlohmann::json& model, const fs::path& source) {
    const std::string type = optionalField<std::string>(model, "type", "BPE", source, "model");
    if (type != "BPE")
        throw Error(source, "unsupported tokenizer model type \"" + type + "\" (only BPE is supported)");
    const auto dropout = model.find("dropout");
    if (dropout != model.end() && !dropout->is_null() &&
        !(dropout->is_number() && dropout->get<double>() == 0.0))
        throw Error(source, "BPE dropout is not supported (it makes encoding random)");

    const auto& vocab = field(model, "vocab", source, "model");
    if (!vocab.is_object()) throw Error(source, "model.vocab is not a JSON object");
    if (vocab.size() > kMaxVocab)
        throw Error(source, "model.vocab has " + std::to_string(vocab.size()) + " entries, more than the " +
                                std::to_string(kMaxVocab) + " this reader accepts");
    vocab_.reserve(vocab.size());
    int64_t maxId = -1;
    for (const auto& [token, idJson] : vocab.items()) {
        if (!idJson.is_number_integer())
            throw Error(source, "model.vocab[\"" + token + "\"] is not an integer id");
        const auto id = idJson.get<int64_t>();
        if (id < 0 || id >= static_cast<int64_t>(kMaxVocab))
            throw Error(source, "model.vocab[\"" + token + "\"] has out-of-range id " + std::to_string(id));
        vocab_.emplace(token, static_cast<int32_t>(id));
        maxId = std::max(maxId, id);
    }
    tokens_.resize(static_cast<size_t>(maxId + 1));
    for (const auto& [token, id] : vocab_)
        tokens_[static_cast<size_t>(id)] = token;

    const auto readOptionalString = [&](const char* key) -> std::optional<std::string> {
        const auto it = model.find(key);
        if (it == model.end() || it->is_null()) return std::nullopt;
        if (!it->is_string()) throw Error(source, std::string("model.") + key + " is not a string");
        return it->get<std::string>();
    };
    prefix_ = readOptionalString("continuing_subword_prefix");
    suffix_ = readOptionalString("end_of_word_suffix");
    if (prefix_ && prefix_->empty()) prefix_.reset(); // "" adds nothing
    if (suffix_ && suffix_->empty()) suffix_.reset();
    if (const auto unk = readOptionalString("unk_token")) {
        const auto it = vocab_.find(*unk);
        if (it == vocab_.end())
            throw Error(source, "model.unk_token \"" + *unk + "\" is not in the vocabulary");
        unkId_ = it->second;
    }
    fuseUnk_ = optionalField(model, "fuse_unk", false, source, "model");
    byteFallback_ = optionalField(model, "byte_fallback", false, source, "model");
    ignoreMerges_ = optionalField(model, "ignore_merges", false, source, "model");
    for (int b = 0; b < 256; ++b) {
        static const char* hex = "0123456789ABCDEF";
        const std::string name = std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">";
        const auto it = vocab_.find(name);
        byteIds_[b] = it == vocab_.end() ? -1 : it->second;
    }

    const auto& merges = field(model, "merges", source, "model");
    if (!merges.is_array()) throw Error(source, "model.merges is not a list");
    if (merges.size() > kMaxMerges)
        throw Error(source, "model.merges has " + std::to_string(merges.size()) + " entries, more than the " +
                                std::to_string(kMaxMerges) + " this reader accepts");
    merges_ = std::make_unique<MergeTable>(merges.size());
    uint32_t rank = 0;
    std::string merged;
    for (const auto& m : merges) {
        std::string_view a, b;
        if (m.is_string()) {
            // Old form "a b": exactly one space.
            const auto& s = m.get_ref<const std::string&>();
            const size_t space = s.find(' ');
            if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos)
                throw Error(source,
                            "model.merges[" + std::to_string(rank) + "] \"" + s + "\" is not \"a b\"");
            a = std::string_view(s).substr(0, space);
            b = std::string_view(s).substr(space + 1);
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            a = m[0].get_ref<const std::string&>();
            b = m[1].get_ref<const std::string&>();
        } else {
            throw Error(source,
                        "model.merges[" + std::to_string(rank) + "] is neither \"a b\" nor [\"a\", \"b\"]");
        }
        const auto ia = vocab_.find(a), ib = vocab_.find(b);
        if (ia == vocab_.end() || ib == vocab_.end())
            throw Error(source, "model.merges[" + std::to_string(rank) +
                                    "] uses a token missing from the vocabulary: \"" +
                                    std::string(ia == vocab_.end() ? a : b) + "\"");
        if (prefix_ && b.starts_with(*prefix_)) b.remove_prefix(prefix_->size());
        merged.assign(a);
        merged += b;
        const auto im = vocab_.find(merged);
        if (im == vocab_.end())
            throw Error(source, "model.merges[" + std::to_string(rank) + "] makes \"" + merged +
                                    "\", which is not in the vocabulary");
        merges_->insert(ia->second, ib->second, rank, im->second);
        ++rank;
    }
}

Bpe::~Bpe() = default;

std::optional<int32_t> Bpe::tokenToId(std::string_view token) const {
    const auto it = vocab_.find(token);
    if (it == vocab_.end()) return std::nullopt;
    return it->second;
}

const std::string* Bpe::idToToken(int64_t id) const {
    if (id < 0 || id >= static_cast<int64_t>(tokens_.size()) || tokens_[static_cast<size_t>(id)].empty())
        return nullptr;
    return &tokens_[static_cast<size_t>(id)];
}

void Bpe::tokenize(std::string_view word, std::vector<int64_t>& ids) const {
    if (word.empty()) return;
    if (ignoreMerges_) {
        // Llama-3: a word that is itself a token is taken whole, whatever the merges would give.
        if (const auto it = vocab_.find(word); it != vocab_.end()) {
            ids.push_back(it->second);
            return;
        }
    }
    const bool cacheable = word.size() < kMaxCachedWordBytes;
    if (cacheable) {
        std::shared_lock lock(cacheMutex_);
        if (const auto it = cache_.find(word); it != cache_.end()) {
            const int32_t* p = cacheIds_.data() + it->second.offset;
            ids.insert(ids.end(), p, p + it->second.length);
            return;
        }
    }
    thread_local std::vector<int32_t> merged;
    merged.clear();
    merge(word, merged);
    ids.insert(ids.end(), merged.begin(), merged.end());
    if (cacheable) {
        std::unique_lock lock(cacheMutex_);
        if (cache_.size() < kCacheCapacity && !cache_.contains(word)) {
            cache_.emplace(std::string(word), CacheEntry{static_cast<uint32_t>(cacheIds_.size()),
                                                         static_cast<uint32_t>(merged.size())});
            cacheIds_.insert(cacheIds_.end(), merged.begin(), merged.end());
        }
    }
}

void Bpe::merge(std::string_view word, std::vector<int32_t>& out) const {
    struct Symbol {
        int32_t id;
        int32_t prev, next;
        uint32_t len; // 0 once merged into its left neighbour
    };
    struct Candidate {
        uint32_t rank;
        int32_t pos;
        int32_t id;
        // Lowest rank first, then leftmost: std heaps pop the largest, so this orders "larger" as "later".
        bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    thread_local std::vector<Symbol> symbols;
    thread_local std::vector<Candidate> heap;
    thread_local std::string key;
    symbols.clear();
    heap.clear();

    const auto add = [&](int32_t id, uint32_t len) { symbols.push_back({id, 0, 0, len}); };
    // An unknown-token run waiting to be added (fused when fuse_unk is set); len 0 means none.
    uint32_t unkLen = 0;
    const auto flushUnk = [&] {
        if (unkLen) add(*unkId_, unkLen);
        unkLen = 0;
    };
    for (size_t i = 0; i < word.size();) {
        const size_t n = std::min(utf8Length(static_cast<unsigned char>(word[i])), word.size() - i);
        const bool last = i + n == word.size();
        std::string_view piece = word.substr(i, n);
        if ((prefix_ && i > 0) || (suffix_ && last)) {
            key.assign(prefix_ && i > 0 ? *prefix_ : "");
            key += piece;
            if (suffix_ && last) key += *suffix_;
            piece = key;
        }
        i += n;
        if (const auto it = vocab_.find(piece); it != vocab_.end()) {
            flushUnk();
            add(it->second, static_cast<uint32_t>(n));
            continue;
        }
        if (byteFallback_ && std::all_of(piece.begin(), piece.end(), [&](char c) {
                return byteIds_[static_cast<unsigned char>(c)] >= 0;
            })) {
            for (const char c : piece)
                add(byteIds_[static_cast<unsigned char>(c)], 1);
            continue;
        }
        if (!unkId_) continue; // no unknown token: the character is dropped, as in the reference
        if (!fuseUnk_) flushUnk();
        unkLen += static_cast<uint32_t>(n);
    }
    flushUnk();

    const auto count = static_cast<int32_t>(symbols.size());
    for (int32_t k = 0; k < count; ++k) {
        symbols[static_cast<size_t>(k)].prev = k - 1;
        symbols[static_cast<size_t>(k)].next = k + 1 < count ? k + 1 : -1;
    }
    const auto push = [&](int32_t pos, int32_t a, int32_t b) {
        if (const auto* m = merges_->find(a, b)) {
            heap.push_back({m->rank, pos, m->id});
            std::push_heap(heap.begin(), heap.end());
        }
    };
    for (int32_t k = 0; k + 1 < count; ++k)
        push(k, symbols[static_cast<size_t>(k)].id, symbols[static_cast<size_t>(k + 1)].id);

    while (!heap.empty()) {
        std::pop_heap(heap.begin(), heap.end());
        const Candidate top = heap.back();
        heap.pop_back();
        Symbol& s = symbols[static_cast<size_t>(top.pos)];
        if (s.len == 0 || s.next < 0) continue;
        Symbol& right = symbols[static_cast<size_t>(s.next)];
        // Skip entries made stale by an earlier merge.
        const auto* m = merges_->find(s.id, right.id);
        if (!m || m->id != top.id) continue;
        s.id = top.id;
        s.len += right.len;
        right.len = 0;
        s.next = right.next;
        if (s.next >= 0) symbols[static_cast<size_t>(s.next)].prev = top.pos;
        if (s.prev >= 0) push(s.prev, symbols[static_cast<size_t>(s.prev)].id, s.id);
        if (s.next >= 0) push(top.pos, s.id, symbols[static_cast<size_t>(s.next)].id);
    }
    for (const auto& s : symbols) {
        if (s.len != 0) out.push_back(s.id);
    }
}

} // namespace layerlab::tok
