#pragma once
// The BPE model of tokenizer.json: vocabulary, ranked merges, byte fallback, unknown token, and a
// cache of already merged words. Internal to the tokenizer.

#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace layerlab::tok {

struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class Bpe {
public:
    // Reads the "model" object; throws Error for other model types or malformed content.
    Bpe(const nlohmann::json& model, const std::filesystem::path& source);
    ~Bpe();

    // Appends the ids of one pre-tokenized word.
    void tokenize(std::string_view word, std::vector<int64_t>& ids) const;

    std::optional<int32_t> tokenToId(std::string_view token) const;
    const std::string* idToToken(int64_t id) const;
    size_t size() const { return vocab_.size(); }
    int64_t maxId() const { return static_cast<int64_t>(tokens_.size()) - 1; }

private:
    struct MergeTable;
    void merge(std::string_view word, std::vector<int32_t>& out) const;

    StringIdMap vocab_;
    std::vector<std::string> tokens_; // id -> token ("" for holes)
    std::unique_ptr<MergeTable> merges_;
    std::optional<int32_t> unkId_;
    bool fuseUnk_ = false;
    bool byteFallback_ = false;
    bool ignoreMerges_ = false;
    std::optional<std::string> prefix_, suffix_; // continuing_subword_prefix, end_of_word_suffix
    int32_t byteIds_[256];                       // <0xNN> tokens, -1 when absent

    // Merged words: id runs in one arena, keyed by the word.
    struct CacheEntry {
        uint32_t offset, length;
    };
    mutable std::shared_mutex cacheMutex_;
    mutable std::unordered_map<std::string, CacheEntry, StringHash, std::equal_to<>> cache_;
    mutable std::vector<int32_t> cacheIds_;
};

} // namespace layerlab::tok
