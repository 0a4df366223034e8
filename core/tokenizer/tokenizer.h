#pragma once
// Hugging Face tokenizer.json (BPE: byte-level and SentencePiece-style) in C++, held to
// id-for-id parity with the Rust `tokenizers` implementation.
// (Interface agreed first so data loading can be written against it; see issue 11.)

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace layerlab {

// Largest tokenizer.json accepted, checked before it is read: the largest real ones are a few
// tens of MiB (a vocabulary of ~260k and as many merges).
constexpr uint64_t kMaxTokenizerJsonBytes = uint64_t{256} << 20;

class Tokenizer {
public:
    // Reads tokenizer.json and, when present, tokenizer_config.json / special_tokens_map.json
    // from a model folder. Throws Error naming the file and the problem.
    static Tokenizer load(const std::filesystem::path& modelDir);
    // From the text of a tokenizer.json; `source` names it in errors.
    static Tokenizer fromJson(std::string_view tokenizerJson, const std::filesystem::path& source);

    Tokenizer(Tokenizer&&) noexcept;
    Tokenizer& operator=(Tokenizer&&) noexcept;
    ~Tokenizer();

    // addSpecialTokens applies the post-processor (BOS etc.) as transformers does by default.
    std::vector<int64_t> encode(std::string_view text, bool addSpecialTokens = true) const;
    std::string decode(const std::vector<int64_t>& ids, bool skipSpecialTokens = false) const;

    int64_t vocabSize() const; // including added tokens
    std::optional<int64_t> bosId() const;
    std::optional<int64_t> eosId() const;
    std::optional<int64_t> tokenToId(std::string_view token) const;
    std::string idToToken(int64_t id) const;

private:
    struct Impl;
    explicit Tokenizer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace layerlab
