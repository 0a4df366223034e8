// seeds: fuzz/seeds/tokenizer/*.json
// fuzz-options: -max_len=16384

// tokenizer.json loading, encoding and decoding; the seeds are the committed test tokenizers cut
// to their first 400 ids (tools/fuzz.sh cuts inputs to 16 KiB). Input: tokenizer.json [NUL text [NUL
// tokenizer_config.json]]. Without a text, a few fixed texts are encoded; with a
// tokenizer_config.json, the model folder is read as Tokenizer::load does.

#include "fuzz_target.h"

#include "tokenizer/tokenizer.h"

#include <optional>
#include <vector>

LAYERLAB_FUZZ_TARGET(tokenizer) {
    using namespace layerlab;
    const size_t nul = input.find('\0');
    const std::string_view json = input.substr(0, nul);
    std::vector<std::string_view> texts;
    std::optional<std::string_view> config;
    if (nul == std::string_view::npos) {
        texts = {"Hello world! It's 2026-11-23, 12.5% of 1,000.", "  two  spaces\n\ttab\r\n",
                 "na\xc3\xafve caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e \xf0\x9f\x99\x82",
                 "<s>special</s><|endoftext|><unk>", ""};
    } else {
        const std::string_view rest = input.substr(nul + 1);
        const size_t second = rest.find('\0');
        texts = {rest.substr(0, second)};
        if (second != std::string_view::npos) config = rest.substr(second + 1);
    }

    std::optional<Tokenizer> t;
    if (config) {
        fuzz::writeTmpFile("tokenizer.json", json);
        fuzz::writeTmpFile("tokenizer_config.json", *config);
        t.emplace(Tokenizer::load(fuzz::tmpDir()));
    } else {
        t.emplace(Tokenizer::fromJson(json, "tokenizer.json"));
    }
    for (const auto text : texts) {
        for (const bool special : {true, false}) {
            const std::vector<int64_t> ids = t->encode(text, special);
            (void)t->decode(ids, false);
            (void)t->decode(ids, true);
            for (const int64_t id : ids)
                (void)t->idToToken(id);
        }
    }
    (void)t->vocabSize();
    (void)t->bosId();
    (void)t->eosId();
    (void)t->tokenToId("<s>");
    // Ids a caller may pass that the vocabulary does not have.
    for (const int64_t id : {int64_t{-1}, t->vocabSize(), int64_t{1} << 40}) {
        try {
            (void)t->decode({id});
        } catch (const Error&) {
        }
        try {
            (void)t->idToToken(id);
        } catch (const Error&) {
        }
    }
}
