// Bad checkpoint folders: each gives an Error naming the file and the problem, never a crash.

#include "common/error.h"
#include "io/safetensors.h"
#include "model/checkpoint.h"
#include "model/model.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

using namespace layerlab;
namespace fs = std::filesystem;

namespace {

std::string loadError(const fs::path& dir) {
    try {
        Model::load(dir, {torch::kCPU, torch::kFloat32});
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

void rewriteWeights(const fs::path& dir,
                    const std::function<void(std::vector<std::pair<std::string, torch::Tensor>>&)>& edit) {
    auto f = SafetensorsFile::open(dir / "model.safetensors");
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (const auto& t : f.tensors())
        tensors.emplace_back(t.name, f.tensor(t).clone());
    edit(tensors);
    writeSafetensors(dir / "model.safetensors", tensors);
}

} // namespace

TEST(Checkpoint, OpensShardedCheckpoint) {
    auto c = Checkpoint::open(test::referenceDir("llama_sharded"));
    EXPECT_GT(c.shards().size(), 1u);
    EXPECT_TRUE(c.has("model.layers.3.mlp.down_proj.weight"));
}

TEST(Checkpoint, MissingTensor) {
    test::TempDir dir;
    test::copyCheckpoint("llama_gqa", dir.path());
    rewriteWeights(dir.path(), [](auto& t) {
        std::erase_if(t, [](auto& p) { return p.first == "model.layers.2.mlp.up_proj.weight"; });
    });
    auto msg = loadError(dir.path());
    EXPECT_NE(msg.find(dir.path().string()), std::string::npos) << msg;
    EXPECT_NE(msg.find("missing tensor 'model.layers.2.mlp.up_proj.weight'"), std::string::npos) << msg;
}

TEST(Checkpoint, WrongShape) {
    test::TempDir dir;
    test::copyCheckpoint("llama_gqa", dir.path());
    rewriteWeights(dir.path(), [](auto& t) {
        for (auto& [n, x] : t)
            if (n == "model.layers.1.self_attn.k_proj.weight") x = torch::zeros({64, 64});
    });
    auto msg = loadError(dir.path());
    EXPECT_NE(
        msg.find("model.safetensors: tensor 'model.layers.1.self_attn.k_proj.weight' has shape [64, 64], "
                 "but config.json implies [32, 64]"),
        std::string::npos)
        << msg;
}

TEST(Checkpoint, IntegerWeights) {
    test::TempDir dir;
    test::copyCheckpoint("llama_gqa", dir.path());
    rewriteWeights(dir.path(), [](auto& t) {
        for (auto& [n, x] : t)
            if (n == "model.norm.weight") x = x.to(torch::kInt32);
    });
    EXPECT_NE(loadError(dir.path()).find("has dtype I32; weights must be floating point"), std::string::npos);
}

TEST(Checkpoint, UnusedTensorsAreReported) {
    test::TempDir dir;
    test::copyCheckpoint("llama_gqa", dir.path());
    rewriteWeights(dir.path(), [](auto& t) {
        t.emplace_back("model.layers.0.self_attn.rotary_emb.inv_freq", torch::ones({8}));
    });
    auto model = Model::load(dir.path(), {torch::kCPU, torch::kFloat32});
    ASSERT_EQ(model->unusedTensors().size(), 1u);
    EXPECT_EQ(model->unusedTensors()[0], "model.layers.0.self_attn.rotary_emb.inv_freq");
}

TEST(Checkpoint, UnknownArchitecture) {
    test::TempDir dir;
    test::copyCheckpoint("llama_gqa", dir.path());
    auto cfg = test::readJson(dir / "config.json");
    cfg["architectures"] = {"FalconForCausalLM"};
    test::writeText(dir / "config.json", cfg.dump());
    auto msg = loadError(dir.path());
    EXPECT_NE(msg.find("config.json: unknown architecture 'FalconForCausalLM'"), std::string::npos) << msg;
}

TEST(Checkpoint, ShardNameEscapingTheFolder) {
    test::TempDir dir;
    test::copyCheckpoint("llama_sharded", dir / "model");
    for (const std::string evil : {"../outside.safetensors", "/etc/passwd", "sub/../../x.safetensors"}) {
        auto index = test::readJson(dir / "model" / "model.safetensors.index.json");
        index["weight_map"]["model.norm.weight"] = evil;
        test::writeText(dir / "model" / "model.safetensors.index.json", index.dump());
        auto msg = loadError(dir / "model");
        EXPECT_NE(msg.find("model.safetensors.index.json: file name '" + evil + "'"), std::string::npos)
            << msg;
    }
}

TEST(Checkpoint, SymlinkShardPointingOutside) {
    test::TempDir dir;
    test::copyCheckpoint("llama_gqa", dir / "model");
    fs::rename(dir / "model" / "model.safetensors", dir / "elsewhere.safetensors");
    fs::create_symlink(dir / "elsewhere.safetensors", dir / "model" / "shard.safetensors");
    test::writeText(dir / "model" / "model.safetensors.index.json",
                    R"({"weight_map":{"model.norm.weight":"shard.safetensors"}})");
    EXPECT_NE(loadError(dir / "model").find("points outside the model folder"), std::string::npos);
}

TEST(Checkpoint, TruncatedShard) {
    test::TempDir dir;
    test::copyCheckpoint("llama_gqa", dir.path());
    fs::resize_file(dir / "model.safetensors", fs::file_size(dir / "model.safetensors") - 100);
    auto msg = loadError(dir.path());
    EXPECT_NE(msg.find("model.safetensors: tensor"), std::string::npos) << msg;
    EXPECT_NE(msg.find("is the file truncated?"), std::string::npos) << msg;
}

TEST(Checkpoint, PickleOnlyCheckpointIsRefused) {
    test::TempDir dir;
    test::copyCheckpoint("llama_gqa", dir.path());
    fs::remove(dir / "model.safetensors");
    test::writeText(dir / "pytorch_model.bin", "PK\x03\x04 pickle inside");
    auto msg = loadError(dir.path());
    EXPECT_NE(msg.find("never loads pickle files"), std::string::npos) << msg;
    EXPECT_NE(msg.find("safe_serialization=True"), std::string::npos) << msg;
}

TEST(Checkpoint, NotAFolderAndNoConfig) {
    test::TempDir dir;
    EXPECT_NE(loadError(dir / "missing").find("not a folder"), std::string::npos);
    EXPECT_NE(loadError(dir.path()).find("config.json: cannot open"), std::string::npos);
}

TEST(Checkpoint, IndexListsTensorNotInShard) {
    test::TempDir dir;
    test::copyCheckpoint("llama_gqa", dir.path());
    test::writeText(
        dir / "model.safetensors.index.json",
        R"({"weight_map":{"model.norm.weight":"model.safetensors","ghost.weight":"model.safetensors"}})");
    EXPECT_NE(loadError(dir.path()).find("index lists tensor 'ghost.weight'"), std::string::npos);
}

TEST(Checkpoint, OversizedIndexIsRefusedBeforeReading) {
    test::TempDir dir;
    test::copyCheckpoint("llama_sharded", dir.path());
    fs::resize_file(dir / "model.safetensors.index.json", (uint64_t{64} << 20) + 1); // sparse
    const auto msg = loadError(dir.path());
    EXPECT_NE(msg.find("model.safetensors.index.json: file is larger than 64 MiB"), std::string::npos) << msg;
}
