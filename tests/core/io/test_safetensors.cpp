#include "common/error.h"
#include "io/safetensors.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace layerlab;
using layerlab::test::TempDir;
using layerlab::test::writeText;

namespace {

// Builds a safetensors file by hand: little-endian u64 header length, header JSON, data bytes.
std::string rawFile(const std::string& header, const std::string& data, int64_t lengthOverride = -1) {
    uint64_t n = lengthOverride >= 0 ? static_cast<uint64_t>(lengthOverride) : header.size();
    std::string out(8, '\0');
    for (int i = 0; i < 8; ++i)
        out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
    return out + header + data;
}

std::string floats(std::initializer_list<float> v) {
    std::string s(v.size() * 4, '\0');
    std::memcpy(s.data(), std::data(v), s.size());
    return s;
}

void expectError(const std::string& content, const std::string& fragment) {
    TempDir dir;
    const auto path = dir / "bad.safetensors";
    writeText(path, content);
    try {
        SafetensorsFile::open(path);
        FAIL() << "expected an error containing '" << fragment << "'";
    } catch (const Error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find("bad.safetensors"), std::string::npos) << msg;
        EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    }
}

} // namespace

TEST(Safetensors, ReadsHandWrittenFile) {
    TempDir dir;
    const auto path = dir / "ok.safetensors";
    // Two tensors: a [2,2] F32 and a [3] F32 after it; header padded to keep data aligned.
    std::string header =
        R"({"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[3],"data_offsets":[16,28]},"__metadata__":{"format":"pt"}})";
    while ((8 + header.size()) % 8)
        header += ' ';
    writeText(path, rawFile(header, floats({1, 2, 3, 4, 5, 6, 7})));
    auto f = SafetensorsFile::open(path);
    ASSERT_EQ(f.tensors().size(), 2u);
    EXPECT_EQ(f.metadata().at("format"), "pt");
    auto a = f.tensor("a");
    EXPECT_EQ(a.sizes(), (std::vector<int64_t>{2, 2}));
    EXPECT_FLOAT_EQ(a[1][0].item<float>(), 3.0f);
    EXPECT_FLOAT_EQ(f.tensor("b")[2].item<float>(), 7.0f);
    EXPECT_THROW(f.tensor("c"), Error);
}

TEST(Safetensors, WriterRoundTripsEveryFloatDtype) {
    TempDir dir;
    const auto path = dir / "rt.safetensors";
    auto x = torch::arange(12, torch::kFloat32).reshape({3, 4}) / 4.0;
    writeSafetensors(path,
                     {{"f32", x},
                      {"bf16", x.to(torch::kBFloat16)},
                      {"f16", x.to(torch::kFloat16)},
                      {"ids", torch::tensor({7, -1}, torch::kInt64)}},
                     {{"who", "test"}});
    auto f = SafetensorsFile::open(path);
    EXPECT_TRUE(torch::equal(f.tensor("f32"), x));
    EXPECT_TRUE(torch::equal(f.tensor("bf16").to(torch::kFloat32), x)); // quarters are exact in bf16
    EXPECT_TRUE(torch::equal(f.tensor("f16").to(torch::kFloat32), x));
    EXPECT_EQ(f.tensor("ids")[1].item<int64_t>(), -1);
    EXPECT_EQ(f.metadata().at("who"), "test");
    // No temporary files left behind.
    int files = 0;
    for (auto& e : std::filesystem::directory_iterator(dir.path()))
        files += e.is_regular_file();
    EXPECT_EQ(files, 1);
}

TEST(Safetensors, TruncatedFile) {
    const std::string header = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
    expectError(rawFile(header, floats({1, 2})), "outside the file");
}

TEST(Safetensors, TooShortForHeaderLength) {
    expectError("abc", "too short");
}

TEST(Safetensors, HeaderLengthPastEnd) {
    expectError(rawFile(R"({})", "", 1000), "runs past the end");
}

TEST(Safetensors, HeaderLengthAboveLimit) {
    expectError(rawFile(R"({})", "", int64_t(1) << 40), "exceeds the limit");
}

TEST(Safetensors, HeaderNotJson) {
    expectError(rawFile("{not json", ""), "not valid JSON");
}

TEST(Safetensors, OverlappingOffsets) {
    const std::string header =
        R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
    expectError(rawFile(header, floats({1, 2, 3})), "overlap");
}

TEST(Safetensors, OffsetsEndBeforeBegin) {
    const std::string header = R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})";
    expectError(rawFile(header, floats({1, 2, 3})), "end before they begin");
}

TEST(Safetensors, UnknownDtype) {
    const std::string header = R"({"a":{"dtype":"F8_E9M9","shape":[2],"data_offsets":[0,2]}})";
    expectError(rawFile(header, "xx"), "unsupported dtype 'F8_E9M9'");
}

TEST(Safetensors, ShapeDoesNotMatchLength) {
    const std::string header = R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})";
    expectError(rawFile(header, floats({1, 2})), "need 12 bytes but data_offsets span 8");
}

TEST(Safetensors, ShapeWhoseByteSizeOverflows) {
    const std::string header =
        R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}})";
    expectError(rawFile(header, floats({1, 2})), "overflows");
}

TEST(Safetensors, NegativeShape) {
    const std::string header = R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})";
    expectError(rawFile(header, floats({1, 2})), "non-negative");
}

TEST(Safetensors, MissingFile) {
    TempDir dir;
    try {
        SafetensorsFile::open(dir / "nope.safetensors");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("nope.safetensors: file not found"), std::string::npos);
    }
}
