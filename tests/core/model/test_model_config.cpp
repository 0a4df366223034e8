#include "common/error.h"
#include "model/model_config.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

using namespace layerlab;
using json = nlohmann::json;

namespace {
json minimal() {
    return json::parse(R"({"architectures":["LlamaForCausalLM"],"vocab_size":32,"hidden_size":16,
        "intermediate_size":24,"num_hidden_layers":2,"num_attention_heads":4})");
}
std::string errorOf(const json& j) {
    try {
        ModelConfig::fromJson(j, "dir/config.json");
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}
} // namespace

TEST(ModelConfig, Defaults) {
    auto c = ModelConfig::fromJson(minimal(), "config.json");
    EXPECT_EQ(c.architecture, Architecture::Llama);
    EXPECT_EQ(c.numKvHeads, 4);
    EXPECT_EQ(c.headDim, 4);
    EXPECT_EQ(c.rope.type, RopeType::Default);
    EXPECT_DOUBLE_EQ(c.rope.theta, 10000.0);
    EXPECT_FALSE(c.qkvBias);
}

TEST(ModelConfig, ClassicSpelling) {
    auto c = ModelConfig::load(test::referenceDir("llama_tied_bias_headdim") / "config.json");
    EXPECT_EQ(c.rope.type, RopeType::Linear);
    EXPECT_DOUBLE_EQ(c.rope.factor, 2.0);
    EXPECT_DOUBLE_EQ(c.rope.theta, 500000.0);
    EXPECT_EQ(c.headDim, 24);
    EXPECT_TRUE(c.tieWordEmbeddings);
    EXPECT_TRUE(c.qkvBias);
    EXPECT_TRUE(c.oBias);
    EXPECT_TRUE(c.mlpBias);
    EXPECT_EQ(c.dtype, "float32");
    EXPECT_FALSE(c.raw.contains("rope_parameters"));
}

TEST(ModelConfig, Transformers5Spelling) {
    auto c = ModelConfig::load(test::referenceDir("llama3_rope_bf16") / "config.json");
    EXPECT_EQ(c.rope.type, RopeType::Llama3);
    EXPECT_DOUBLE_EQ(c.rope.factor, 8.0);
    EXPECT_EQ(c.rope.originalMaxPositionEmbeddings, 16);
    EXPECT_DOUBLE_EQ(c.rope.theta, 500000.0);
    EXPECT_EQ(c.dtype, "bfloat16");
    EXPECT_EQ(c.numKvHeads, 1);
    EXPECT_TRUE(c.raw.contains("rope_parameters"));
}

TEST(ModelConfig, Qwen2AlwaysHasQkvBias) {
    auto c = ModelConfig::load(test::referenceDir("qwen2_tied") / "config.json");
    EXPECT_EQ(c.architecture, Architecture::Qwen2);
    EXPECT_TRUE(c.qkvBias);
    EXPECT_FALSE(c.oBias);
}

TEST(ModelConfig, MistralSlidingWindow) {
    auto c = ModelConfig::load(test::referenceDir("mistral_window") / "config.json");
    EXPECT_EQ(c.architecture, Architecture::Mistral);
    ASSERT_EQ(c.slidingWindow.size(), 4u);
    EXPECT_EQ(c.slidingWindow[2], 8);
}

TEST(ModelConfig, UnknownArchitecture) {
    auto j = minimal();
    j["architectures"] = {"GPTNeoXForCausalLM"};
    auto msg = errorOf(j);
    EXPECT_NE(msg.find("dir/config.json"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unknown architecture 'GPTNeoXForCausalLM'"), std::string::npos) << msg;
}

TEST(ModelConfig, WrongValues) {
    auto j = minimal();
    j["num_key_value_heads"] = 3;
    EXPECT_NE(errorOf(j).find("not a multiple of num_key_value_heads"), std::string::npos);
    j = minimal();
    j["hidden_size"] = -16;
    EXPECT_NE(errorOf(j).find("'hidden_size' must be a positive integer"), std::string::npos);
    j = minimal();
    j.erase("vocab_size");
    EXPECT_NE(errorOf(j).find("missing field 'vocab_size'"), std::string::npos);
    j = minimal();
    j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
    EXPECT_NE(errorOf(j).find("unsupported RoPE scaling type 'yarn'"), std::string::npos);
    j = minimal();
    j["hidden_act"] = "gelu";
    EXPECT_NE(errorOf(j).find("unsupported hidden_act 'gelu'"), std::string::npos);
}

TEST(ModelConfig, NotJson) {
    test::TempDir dir;
    test::writeText(dir / "config.json", "{ broken");
    try {
        ModelConfig::load(dir / "config.json");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("config.json: not valid JSON"), std::string::npos) << e.what();
    }
}

// Found by fuzzing: these used to escape as nlohmann exceptions or allocate per-layer tables of
// any size.
TEST(ModelConfig, AbsurdSizesAndWrongTypes) {
    auto j = minimal();
    j["num_hidden_layers"] = int64_t{1} << 40;
    EXPECT_NE(errorOf(j).find("'num_hidden_layers' is 1099511627776, larger than the limit of 2147483647"),
              std::string::npos)
        << errorOf(j);
    j["num_hidden_layers"] = 100000;
    EXPECT_NE(errorOf(j).find("num_hidden_layers 100000 exceeds the limit of 65536"), std::string::npos)
        << errorOf(j);
    j = minimal();
    j["num_attention_heads"] = int64_t{1} << 33;
    j["head_dim"] = int64_t{1} << 33;
    EXPECT_NE(errorOf(j).find("larger than the limit"), std::string::npos) << errorOf(j);
    j = minimal();
    j["model_type"] = 0.0;
    EXPECT_NE(errorOf(j).find("dir/config.json: field 'model_type' must be a string"), std::string::npos)
        << errorOf(j);
    j = minimal();
    j["hidden_act"] = {{"name", "silu"}};
    EXPECT_NE(errorOf(j).find("field 'hidden_act' must be a string"), std::string::npos) << errorOf(j);
}

TEST(ModelConfig, OversizedFileIsRefusedBeforeReading) {
    test::TempDir dir;
    test::writeText(dir / "config.json", "{}");
    std::filesystem::resize_file(dir / "config.json", (uint64_t{16} << 20) + 1); // sparse: no disk used
    try {
        ModelConfig::load(dir / "config.json");
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("config.json: file is larger than 16 MiB"), std::string::npos)
            << e.what();
    }
}
