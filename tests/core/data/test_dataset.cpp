#include "common/error.h"
#include "data/dataset.h"
#include "data/token_batch.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

#include <numeric>
#include <set>

using namespace layerlab;
using layerlab::test::errorOf;
using layerlab::test::TempDir;
using layerlab::test::writeText;

namespace {

constexpr int64_t kBos = 1000;

// One id per byte (its value), BOS first when asked: expected ids can be read off the text.
std::vector<int64_t> byteEncoder(std::string_view text, bool addBos) {
    std::vector<int64_t> ids;
    if (addBos) ids.push_back(kBos);
    for (unsigned char c : text)
        ids.push_back(c);
    return ids;
}

std::vector<int64_t> iota(int64_t n) {
    std::vector<int64_t> v(static_cast<size_t>(n));
    std::iota(v.begin(), v.end(), int64_t{0});
    return v;
}

WindowOptions windows(int64_t seqLen, int64_t stride = 0, bool keepRemainder = false) {
    return {seqLen, stride, keepRemainder};
}

TokenDataOptions options(int64_t seqLen, bool addBos = false) {
    TokenDataOptions o;
    o.windows.seqLen = seqLen;
    o.addBos = addBos;
    return o;
}

// The file and 1-based line must open the message, as "file.jsonl:12: ...".
void expectTokenDataError(const TempDir& dir, const std::string& content, int64_t line,
                          const std::string& fragment, const TokenDataOptions& o = options(8)) {
    test::expectLineError(dir, content, line, fragment,
                          [&](const std::filesystem::path& path) { loadTokenData(path, byteEncoder, o); });
}

} // namespace

// --- cutting one token stream -------------------------------------------------------------

TEST(DatasetWindows, DisjointDropsRemainder) {
    // 10 tokens, windows of 4: [0..3], [4..7]; tokens 8, 9 left over and dropped.
    auto w = cutWindows(iota(10), windows(4));
    ASSERT_EQ(w.size(), 2u);
    EXPECT_EQ(w[0], (TokenWindow{{0, 1, 2, 3}, 0}));
    EXPECT_EQ(w[1], (TokenWindow{{4, 5, 6, 7}, 0}));
    // Every position but the first of each window is predicted: 3 + 3.
    EXPECT_EQ(w[0].scoredTargets(), 3);
    EXPECT_EQ(w[1].scoredTargets(), 3);
}

TEST(DatasetWindows, DisjointKeepsRemainder) {
    auto w = cutWindows(iota(10), windows(4, 0, true));
    ASSERT_EQ(w.size(), 3u);
    EXPECT_EQ(w[2], (TokenWindow{{8, 9}, 0}));
    EXPECT_EQ(w[2].scoredTargets(), 1); // 9 predicted from 8
    // 9 tokens: the leftover is token 8 alone, which predicts nothing, so it is not kept.
    EXPECT_EQ(cutWindows(iota(9), windows(4, 0, true)).size(), 2u);
    // Stride equal to seqLen is the same as no stride.
    EXPECT_EQ(cutWindows(iota(10), windows(4, 4, true)), w);
}

TEST(DatasetWindows, StridedScoresEachTokenOnce) {
    // seqLen 4, stride 2 over tokens 0..9: windows start at 0, 2, 4, 6; the last reaches the end.
    // After the first window only the last 2 tokens of each window are scored.
    auto w = cutWindows(iota(10), windows(4, 2));
    ASSERT_EQ(w.size(), 4u);
    EXPECT_EQ(w[0], (TokenWindow{{0, 1, 2, 3}, 0})); // scores 1, 2, 3
    EXPECT_EQ(w[1], (TokenWindow{{2, 3, 4, 5}, 2})); // scores 4, 5
    EXPECT_EQ(w[2], (TokenWindow{{4, 5, 6, 7}, 2})); // scores 6, 7
    EXPECT_EQ(w[3], (TokenWindow{{6, 7, 8, 9}, 2})); // scores 8, 9
    EXPECT_EQ(w[0].scoredTargets(), 3);
    EXPECT_EQ(w[1].scoredTargets(), 2);
    EXPECT_EQ(w[1].firstTarget(), 2);
    // Tokens 1..9 are each scored exactly once (window k starts at 2k).
    std::vector<int> times(10, 0);
    for (size_t k = 0; k < w.size(); ++k)
        for (int64_t p = w[k].firstTarget(); p < w[k].size(); ++p)
            ++times[static_cast<size_t>(2 * k + p)];
    EXPECT_EQ(times, (std::vector<int>{0, 1, 1, 1, 1, 1, 1, 1, 1, 1}));
}

TEST(DatasetWindows, StridedRemainder) {
    // 11 tokens, seqLen 4, stride 2: full windows end at 4, 6, 8, 10; token 10 is left over.
    auto dropped = cutWindows(iota(11), windows(4, 2));
    ASSERT_EQ(dropped.size(), 4u);
    EXPECT_EQ(dropped.back(), (TokenWindow{{6, 7, 8, 9}, 2}));
    auto kept = cutWindows(iota(11), windows(4, 2, true));
    ASSERT_EQ(kept.size(), 5u);
    // The shorter last window starts 2 after the previous one; 8, 9 were scored already.
    EXPECT_EQ(kept.back(), (TokenWindow{{8, 9, 10}, 2}));
    EXPECT_EQ(kept.back().scoredTargets(), 1);
    int64_t scored = 0;
    for (const auto& w : kept)
        scored += w.scoredTargets();
    EXPECT_EQ(scored, 10); // every token but the very first
}

TEST(DatasetWindows, StrideOfOneAndThree) {
    // seqLen 3, stride 1 over 0..4: [0,1,2] [1,2,3] [2,3,4]; scored 2 + 1 + 1.
    auto w = cutWindows(iota(5), windows(3, 1));
    ASSERT_EQ(w.size(), 3u);
    EXPECT_EQ(w[1], (TokenWindow{{1, 2, 3}, 2}));
    EXPECT_EQ(w[2], (TokenWindow{{2, 3, 4}, 2}));
    EXPECT_EQ(w[2].scoredTargets(), 1);
    // seqLen 4, stride 3 over 0..9: [0..3] [3..6] [6..9]; context 1 in the later ones.
    w = cutWindows(iota(10), windows(4, 3));
    ASSERT_EQ(w.size(), 3u);
    EXPECT_EQ(w[1], (TokenWindow{{3, 4, 5, 6}, 1}));
    EXPECT_EQ(w[1].scoredTargets(), 3); // 4, 5, 6
    EXPECT_EQ(w[2], (TokenWindow{{6, 7, 8, 9}, 1}));
}

TEST(DatasetWindows, ShortAndWholeInput) {
    EXPECT_TRUE(cutWindows(iota(3), windows(4)).empty());
    auto w = cutWindows(iota(3), windows(4, 0, true));
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0], (TokenWindow{{0, 1, 2}, 0}));
    EXPECT_TRUE(cutWindows({}, windows(4, 0, true)).empty());
    // seqLen 0: the input as it is.
    w = cutWindows(iota(7), windows(0));
    ASSERT_EQ(w.size(), 1u);
    EXPECT_EQ(w[0].ids, iota(7));
}

TEST(DatasetWindows, BadOptions) {
    EXPECT_THROW(cutWindows(iota(4), windows(4, 5)), Error);
    EXPECT_THROW(cutWindows(iota(4), windows(4, -1)), Error);
    EXPECT_THROW(cutWindows(iota(4), windows(-1)), Error);
    EXPECT_THROW(cutWindows(iota(4), windows(0, 2)), Error);
}

// --- .txt ---------------------------------------------------------------------------------

TEST(DatasetText, CutsTheWholeText) {
    TempDir dir;
    writeText(dir / "wiki.txt", "abcdefghij"); // 10 bytes: ids 97..106
    auto data = loadTokenData(dir / "wiki.txt", byteEncoder, options(4));
    ASSERT_EQ(data.windows.size(), 2u);
    EXPECT_EQ(data.windows[0].ids, (std::vector<int64_t>{97, 98, 99, 100}));
    EXPECT_EQ(data.windows[1].ids, (std::vector<int64_t>{101, 102, 103, 104}));
    EXPECT_EQ(data.description.format, "text");
    EXPECT_EQ(data.description.sequences, 2);
    EXPECT_EQ(data.description.available, 2);
    EXPECT_EQ(data.description.tokens, 8);
    EXPECT_EQ(data.description.scoredTokens, 6);
    EXPECT_FALSE(data.description.sampled);

    // BOS once, at the start of the text: 11 ids, the same two full windows shifted by one.
    data = loadTokenData(dir / "wiki.txt", byteEncoder, options(4, true));
    ASSERT_EQ(data.windows.size(), 2u);
    EXPECT_EQ(data.windows[0].ids, (std::vector<int64_t>{kBos, 97, 98, 99}));
    EXPECT_EQ(data.windows[1].ids, (std::vector<int64_t>{100, 101, 102, 103}));
}

TEST(DatasetText, LinesAreOneString) {
    TempDir dir;
    writeText(dir / "a.txt", "ab\ncd\n"); // the newlines are text too
    auto data = loadTokenData(dir / "a.txt", byteEncoder, options(0));
    ASSERT_EQ(data.windows.size(), 1u);
    EXPECT_EQ(data.windows[0].ids, (std::vector<int64_t>{97, 98, 10, 99, 100, 10}));
}

TEST(DatasetText, StridedAndRemainder) {
    TempDir dir;
    writeText(dir / "a.txt", "abcdefghijk"); // 11 tokens
    auto o = options(4);
    o.windows.stride = 2;
    auto data = loadTokenData(dir / "a.txt", byteEncoder, o);
    EXPECT_EQ(data.description.sequences, 4);
    EXPECT_EQ(data.description.tokens, 16);
    EXPECT_EQ(data.description.scoredTokens, 9);
    EXPECT_EQ(data.description.stride, 2);
    o.windows.keepRemainder = true;
    data = loadTokenData(dir / "a.txt", byteEncoder, o);
    EXPECT_EQ(data.description.sequences, 5);
    EXPECT_EQ(data.windows.back(), (TokenWindow{{105, 106, 107}, 2}));
    EXPECT_EQ(data.description.scoredTokens, 10);
}

TEST(DatasetText, EmptyOrTooShortIsAnError) {
    TempDir dir;
    writeText(dir / "empty.txt", "");
    EXPECT_NE(errorOf([&] {
                  loadTokenData(dir / "empty.txt", byteEncoder, options(4));
              }).find("empty.txt: the file is empty"),
              std::string::npos);
    writeText(dir / "short.txt", "abc");
    const auto message = errorOf([&] { loadTokenData(dir / "short.txt", byteEncoder, options(4)); });
    EXPECT_NE(message.find("short.txt: the text has 3 tokens: not enough for one window of 4"),
              std::string::npos)
        << message;
    auto o = options(4);
    o.windows.keepRemainder = true;
    EXPECT_EQ(loadTokenData(dir / "short.txt", byteEncoder, o).windows.size(), 1u);
}

TEST(DatasetText, VocabSizeIsChecked) {
    TempDir dir;
    writeText(dir / "a.txt", "abcdefgh"); // 'd' is 100
    auto o = options(4);
    o.vocabSize = 100;
    const auto message = errorOf([&] { loadTokenData(dir / "a.txt", byteEncoder, o); });
    EXPECT_NE(message.find("token id 100 from the tokenizer (token 3) is not below the vocab size 100"),
              std::string::npos)
        << message;
    o.vocabSize = 105; // 'h' is 104
    EXPECT_EQ(loadTokenData(dir / "a.txt", byteEncoder, o).windows.size(), 2u);
}

TEST(DatasetText, ByteOrderMarkIsDropped) {
    TempDir dir;
    writeText(dir / "a.txt", "\xEF\xBB\xBF"
                             "abcd");
    EXPECT_EQ(loadTokenData(dir / "a.txt", byteEncoder, options(4)).windows[0].ids,
              (std::vector<int64_t>{97, 98, 99, 100}));
}

TEST(DatasetText, UnknownExtensionAndMissingFile) {
    TempDir dir;
    writeText(dir / "a.csv", "abcd");
    EXPECT_NE(errorOf([&] {
                  loadTokenData(dir / "a.csv", byteEncoder, options(4));
              }).find("expected a .txt or .jsonl"),
              std::string::npos);
    EXPECT_NE(errorOf([&] {
                  loadTokenData(dir / "nope.txt", byteEncoder, options(4));
              }).find("nope.txt: no such file"),
              std::string::npos);
}

// --- .jsonl -------------------------------------------------------------------------------

TEST(DatasetJsonl, TextAndInputIdsLines) {
    TempDir dir;
    writeText(dir / "c.jsonl", "{\"text\": \"ab\"}\n"
                               "\n"
                               "{\"input_ids\": [5, 6, 7]}\n"
                               "{\"text\": \"abcdefghi\", \"source\": \"ignored\"}\n");
    auto data = loadTokenData(dir / "c.jsonl", byteEncoder, options(4, true));
    // Line 1: BOS a b (3 tokens, kept whole). Line 3: ids as given, no BOS added.
    // Line 4: BOS a..i = 10 tokens, cut into two windows of 4; the last 2 tokens dropped.
    ASSERT_EQ(data.windows.size(), 4u);
    EXPECT_EQ(data.windows[0], (TokenWindow{{kBos, 97, 98}, 0}));
    EXPECT_EQ(data.windows[1], (TokenWindow{{5, 6, 7}, 0}));
    EXPECT_EQ(data.windows[2], (TokenWindow{{kBos, 97, 98, 99}, 0}));
    EXPECT_EQ(data.windows[3], (TokenWindow{{100, 101, 102, 103}, 0}));
    EXPECT_EQ(data.description.format, "jsonl");
    EXPECT_EQ(data.description.tokens, 14);
    EXPECT_EQ(data.description.scoredTokens, 2 + 2 + 3 + 3);
}

TEST(DatasetJsonl, LongLinesFollowStrideAndRemainder) {
    TempDir dir;
    writeText(dir / "c.jsonl",
              "{\"input_ids\": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}\n{\"input_ids\": [20, 21]}\n");
    auto o = options(4);
    o.windows.stride = 2;
    o.windows.keepRemainder = true;
    auto data = loadTokenData(dir / "c.jsonl", byteEncoder, o);
    ASSERT_EQ(data.windows.size(), 6u);
    EXPECT_EQ(data.windows[1], (TokenWindow{{2, 3, 4, 5}, 2}));
    EXPECT_EQ(data.windows[4], (TokenWindow{{8, 9, 10}, 2}));
    EXPECT_EQ(data.windows[5], (TokenWindow{{20, 21}, 0})); // each line starts afresh
}

TEST(DatasetJsonl, SeqLenZeroKeepsSequencesAsTheyAre) {
    TempDir dir;
    writeText(dir / "c.jsonl", "{\"input_ids\": [1, 2, 3, 4, 5, 6]}\r\n{\"text\": \"xyz\"}\r\n");
    auto data = loadTokenData(dir / "c.jsonl", byteEncoder, options(0));
    ASSERT_EQ(data.windows.size(), 2u);
    EXPECT_EQ(data.windows[0].ids, (std::vector<int64_t>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(data.windows[1].ids, (std::vector<int64_t>{120, 121, 122}));
}

TEST(DatasetJsonl, MalformedLinesNameFileAndLine) {
    TempDir dir;
    const std::string ok = "{\"input_ids\": [1, 2]}\n";
    expectTokenDataError(dir, ok + "{\"text\": \"a\"\n", 2, "invalid JSON");
    expectTokenDataError(dir, ok + ok + "[1, 2]\n", 3, "expected a JSON object");
    expectTokenDataError(dir, ok + "{\"ids\": [1]}\n", 2, "missing field \"text\" or \"input_ids\"");
    expectTokenDataError(dir, "{\"text\": \"a\", \"input_ids\": [1]}\n", 1, "has both");
    expectTokenDataError(dir, "\n\n{\"text\": 5}\n", 3, "\"text\" must be a string");
    expectTokenDataError(dir, "{\"input_ids\": \"1 2\"}\n", 1, "must be a list of token ids");
    expectTokenDataError(dir, "{\"input_ids\": [1, 2.5]}\n", 1, "not an integer at input_ids[1]");
    expectTokenDataError(dir, "{\"input_ids\": [true]}\n", 1, "not an integer at input_ids[0]");
    expectTokenDataError(dir, ok + "{\"input_ids\": [3, -4]}\n", 2, "negative token id -4 at input_ids[1]");
    expectTokenDataError(dir, "{\"input_ids\": [18446744073709551615]}\n", 1,
                         "token id too large at input_ids[0]");
    auto o = options(8);
    o.vocabSize = 50;
    expectTokenDataError(dir, ok + "{\"input_ids\": [49, 50]}\n", 2,
                         "token id 50 at input_ids[1] is not below the vocab size 50", o);
    // Encoded text is checked too: 'a' is 97.
    expectTokenDataError(dir, ok + ok + ok + "{\"text\": \"a\"}\n", 4, "token id 97 from the tokenizer", o);
}

TEST(DatasetJsonl, EmptyInputIsAnError) {
    TempDir dir;
    for (const std::string content : {"", "\n\n  \n", "{\"input_ids\": []}\n{\"text\": \"\"}\n"}) {
        writeText(dir / "e.jsonl", content);
        const auto message = errorOf([&] { loadTokenData(dir / "e.jsonl", byteEncoder, options(4)); });
        EXPECT_NE(message.find("e.jsonl: no sequences"), std::string::npos) << message;
    }
}

// --- limits and sampling ------------------------------------------------------------------

TEST(DatasetLimits, OverlongLineAndFile) {
    TempDir dir;
    auto o = options(4);
    o.limits.maxLineBytes = 20; // line 1 has 18 bytes, line 2 has 27
    expectTokenDataError(dir, "{\"input_ids\": [1]}\n{\"input_ids\": [1, 2, 3, 4]}\n", 2,
                         "line is longer than 20 bytes", o);
    // The whole-text reader checks lines too.
    writeText(dir / "long.txt", "abc\ndefghijklmnopqrstuvwxyz\n"); // 28 bytes, line 2 has 23
    try {
        loadTokenData(dir / "long.txt", byteEncoder, o);
        ADD_FAILURE();
    } catch (const LineError& e) {
        EXPECT_EQ(e.line(), 2);
    }
    o.limits.maxFileBytes = 20;
    EXPECT_NE(errorOf([&] {
                  loadTokenData(dir / "long.txt", byteEncoder, o);
              }).find("file is larger than 20 bytes"),
              std::string::npos);
}

TEST(DatasetLimits, SequenceLongerThanTheModelTakes) {
    TempDir dir;
    writeText(dir / "t.txt", "abcdefghij"); // 10 tokens
    writeText(dir / "t.jsonl", "{\"input_ids\": [1, 2, 3]}\n{\"input_ids\": [1, 2, 3, 4, 5, 6, 7, 8, 9]}\n");
    // A seq-len over the model's maximum is refused before the file is read.
    auto o = options(16);
    o.maxSeqLen = 8;
    EXPECT_NE(errorOf([&] {
                  loadTokenData(dir / "missing.txt", byteEncoder, o);
              }).find("seq-len 16 exceeds the model's maximum of 8 tokens"),
              std::string::npos);
    // Whole sequences (seq-len 0) must fit.
    o = options(0);
    o.maxSeqLen = 8;
    EXPECT_NE(errorOf([&] {
                  loadTokenData(dir / "t.txt", byteEncoder, o);
              }).find("a sequence of 10 tokens exceeds the model's maximum of 8"),
              std::string::npos);
    expectTokenDataError(dir, "{\"input_ids\": [1, 2, 3]}\n{\"input_ids\": [1, 2, 3, 4, 5, 6, 7, 8, 9]}\n", 2,
                         "a sequence of 9 tokens exceeds the model's maximum of 8", o);
    expectTokenDataError(dir, "{\"text\": \"abcdefghi\"}\n", 1, "a sequence of 9 tokens exceeds", o);
    // Windows cut to a seq-len within the maximum are fine.
    o = options(8);
    o.maxSeqLen = 8;
    EXPECT_EQ(loadTokenData(dir / "t.txt", byteEncoder, o).windows.size(), 1u);
    EXPECT_EQ(loadTokenData(dir / "t.jsonl", byteEncoder, o).windows.size(), 2u);
}

TEST(DatasetLimits, LinesAcrossReadChunks) {
    // Lines longer than the reader's 1 MiB chunks are put together again.
    TempDir dir;
    std::string ids = "[7";
    for (int i = 0; i < 300000; ++i)
        ids += ", 7"; // ~1.2 MB
    writeText(dir / "big.jsonl", "{\"input_ids\": " + ids + "]}\n{\"input_ids\": [1, 2]}");
    auto data = loadTokenData(dir / "big.jsonl", byteEncoder, options(0));
    ASSERT_EQ(data.windows.size(), 2u);
    EXPECT_EQ(data.windows[0].size(), 300001);
    EXPECT_EQ(data.windows[1].ids, (std::vector<int64_t>{1, 2}));
}

TEST(DatasetSampling, SampleIndices) {
    EXPECT_EQ(sampleIndices(4, 4, 9), (std::vector<size_t>{0, 1, 2, 3}));
    EXPECT_EQ(sampleIndices(4, 10, 9), (std::vector<size_t>{0, 1, 2, 3}));
    EXPECT_TRUE(sampleIndices(0, 3, 1).empty());
    const auto a = sampleIndices(100, 10, 1);
    ASSERT_EQ(a.size(), 10u);
    EXPECT_TRUE(std::is_sorted(a.begin(), a.end()));
    EXPECT_EQ(std::set<size_t>(a.begin(), a.end()).size(), 10u);
    EXPECT_LT(a.back(), 100u);
    EXPECT_EQ(sampleIndices(100, 10, 1), a);
    EXPECT_NE(sampleIndices(100, 10, 2), a);
}

TEST(DatasetSampling, EveryItemEquallyLikely) {
    // 3 of 10 over 2000 seeds: each index is expected 600 times (sd ~20).
    std::vector<int> counts(10, 0);
    for (uint64_t seed = 0; seed < 2000; ++seed)
        for (size_t i : sampleIndices(10, 3, seed))
            ++counts[i];
    for (int c : counts) {
        EXPECT_GT(c, 500);
        EXPECT_LT(c, 700);
    }
}

TEST(DatasetSampling, MaxSequencesIsDeterministic) {
    TempDir dir;
    std::string content;
    for (int i = 0; i < 50; ++i)
        content += "{\"input_ids\": [" + std::to_string(i) + ", 0]}\n";
    writeText(dir / "s.jsonl", content);
    auto o = options(4);
    o.maxSequences = 8;
    o.seed = 7;
    auto firstIds = [](const TokenData& d) {
        std::vector<int64_t> v;
        for (const auto& w : d.windows)
            v.push_back(w.ids[0]);
        return v;
    };
    const auto a = loadTokenData(dir / "s.jsonl", byteEncoder, o);
    EXPECT_EQ(a.windows.size(), 8u);
    EXPECT_TRUE(a.description.sampled);
    EXPECT_EQ(a.description.available, 50);
    EXPECT_EQ(a.description.sequences, 8);
    const auto ids = firstIds(a);
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end())); // file order kept
    EXPECT_EQ(std::set<int64_t>(ids.begin(), ids.end()).size(), 8u);
    EXPECT_EQ(firstIds(loadTokenData(dir / "s.jsonl", byteEncoder, o)), ids);
    o.seed = 8;
    EXPECT_NE(firstIds(loadTokenData(dir / "s.jsonl", byteEncoder, o)), ids);
    // A limit at or above what is there keeps everything, unsampled.
    o.maxSequences = 50;
    const auto all = loadTokenData(dir / "s.jsonl", byteEncoder, o);
    EXPECT_EQ(all.windows.size(), 50u);
    EXPECT_FALSE(all.description.sampled);
    o.maxSequences = -1;
    EXPECT_THROW(loadTokenData(dir / "s.jsonl", byteEncoder, o), Error);
}

// --- reports, tensors, progress -----------------------------------------------------------

TEST(DatasetDescription, ToJson) {
    TempDir dir;
    writeText(dir / "a.txt", "abcdefghij");
    auto o = options(4, true);
    o.windows.stride = 2;
    o.seed = 3;
    const auto j = toJson(loadTokenData(dir / "a.txt", byteEncoder, o).description);
    // 11 ids (BOS + 10): windows start at 0, 2, 4, 6 and the last ends at 10; token 10 dropped.
    EXPECT_EQ(j.at("file"), (dir / "a.txt").string());
    EXPECT_EQ(j.at("format"), "text");
    EXPECT_EQ(j.at("sequences"), 4);
    EXPECT_EQ(j.at("available"), 4);
    EXPECT_EQ(j.at("tokens"), 16);
    EXPECT_EQ(j.at("scored_tokens"), 9);
    EXPECT_EQ(j.at("seq_len"), 4);
    EXPECT_EQ(j.at("stride"), 2);
    EXPECT_EQ(j.at("keep_remainder"), false);
    EXPECT_EQ(j.at("add_bos"), true);
    EXPECT_EQ(j.at("sampled"), false);
    EXPECT_EQ(j.at("seed"), 3);
    EXPECT_FALSE(j.contains("items"));
}

TEST(DatasetBatch, TensorAndTargetMask) {
    const auto w = cutWindows(iota(8), windows(4, 2)); // [0..3] ctx 0, [2..5] ctx 2, [4..7] ctx 2
    ASSERT_EQ(w.size(), 3u);
    const auto ids = batchTensor(w);
    EXPECT_EQ(ids.dtype(), torch::kInt64);
    EXPECT_EQ(ids.sizes(), (std::vector<int64_t>{3, 4}));
    EXPECT_TRUE(ids.equal(torch::tensor({0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7}, torch::kInt64).view({3, 4})));
    const auto mask = targetMask(w);
    EXPECT_TRUE(mask.equal(
        torch::tensor({false, true, true, true, false, false, true, true, false, false, true, true})
            .view({3, 4})));
    EXPECT_EQ(mask.sum().item<int64_t>(), 7); // 3 + 2 + 2 scored, tokens 1..7

    EXPECT_TRUE(batchTensor(std::vector<std::vector<int64_t>>{{1, 2}, {3, 4}})
                    .equal(torch::tensor({1, 2, 3, 4}, torch::kInt64).view({2, 2})));
    EXPECT_THROW(batchTensor(std::vector<std::vector<int64_t>>{{1, 2}, {3}}), Error);
    EXPECT_THROW(batchTensor(std::vector<std::vector<int64_t>>{}), Error);
}

TEST(DatasetProgress, ReportsAndCancels) {
    TempDir dir;
    writeText(dir / "a.jsonl", "{\"input_ids\": [1, 2]}\n");
    int reports = 0;
    CancelToken token;
    Progress progress([&](const ProgressInfo&) { ++reports; }, token);
    loadTokenData(dir / "a.jsonl", byteEncoder, options(4), progress);
    EXPECT_GT(reports, 0);
    token.cancel();
    EXPECT_THROW(loadTokenData(dir / "a.jsonl", byteEncoder, options(4), progress), Cancelled);
    writeText(dir / "a.txt", "abcdef");
    EXPECT_THROW(loadTokenData(dir / "a.txt", byteEncoder, options(4), progress), Cancelled);
}

TEST(TokenData, TextStatisticsCountBytesAndWordsLikeTheHarness) {
    TempDir dir;
    // Python: len(re.split(r"\s+", "In the  beginning\tGod\n")) == 5 (a trailing empty piece).
    writeText(dir / "a.txt", "In the  beginning\tGod\n");
    TokenDataOptions o = options(0, true);
    auto data = loadTokenData(dir / "a.txt", byteEncoder, o);
    const auto& t = data.description.text;
    EXPECT_EQ(t.documents, 1);
    EXPECT_EQ(t.bytes, 22);
    EXPECT_EQ(t.words, 5);
    EXPECT_EQ(t.documentTokens, 23); // BOS + one id per byte
    EXPECT_DOUBLE_EQ(t.scoredFraction(data.description.scoredTokens), 1.0);

    // .jsonl: each "text" line a document ("é" is 2 bytes); input_ids lines add nothing.
    writeText(dir / "b.jsonl",
              "{\"text\": \"caf\\u00e9 au lait\"}\n{\"input_ids\": [1, 2, 3]}\n{\"text\": \" x\"}\n");
    data = loadTokenData(dir / "b.jsonl", byteEncoder, options(0));
    EXPECT_EQ(data.description.text.documents, 2);
    EXPECT_EQ(data.description.text.bytes, 13 + 2);
    EXPECT_EQ(data.description.text.words, 3 + 2); // " x" -> ['', 'x']
    EXPECT_EQ(data.description.text.documentTokens, 15);
}
