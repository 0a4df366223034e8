// Export of pruned checkpoints. The reference for every round trip is the in-memory model with the
// layer mask applied and the adapters installed; tensor contents are checked against values
// derived by hand from the source tensors.

#include "common/error.h"
#include "export/checkpoint_export.h"
#include "io/file_tree.h"
#include "io/safetensors.h"
#include "io/sha256.h"
#include "model/checkpoint.h"
#include "model/model.h"
#include "test_helpers.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

using namespace layerlab;
namespace fs = std::filesystem;
using layerlab::test::errorOf;

namespace {

torch::Tensor sampleIds() {
    return (torch::arange(0, 40, torch::kInt64).reshape({2, 20}) * 37 + 5) % 128;
}

std::shared_ptr<Model> load(const fs::path& dir) {
    return Model::load(dir, {test::testDevice(), torch::kFloat32});
}

// Logits of the source model under `mask` with `adapters` installed: what the export must compute.
torch::Tensor pruned(const fs::path& dir, const std::string& spec, const AdapterSet& adapters = {}) {
    auto m = load(dir);
    m->setAdapters(adapters);
    return m->forward(sampleIds(), LayerMask::parse(spec, m->numLayers())).cpu();
}

torch::Tensor exported(const fs::path& dir) {
    auto m = load(dir);
    return m->forward(sampleIds(), LayerMask(m->numLayers())).cpu();
}

ExportRequest request(const fs::path& out, const fs::path& source, const std::string& spec,
                      ExportFormat format = ExportFormat::Auto) {
    ExportRequest r;
    r.out = out;
    r.mask = LayerMask::parse(spec, ModelConfig::load(source / "config.json").numLayers);
    r.format = format;
    return r;
}

torch::Tensor stored(const fs::path& dir, const std::string& name) {
    return Checkpoint::open(dir).tensor(name).to(torch::kFloat32).clone();
}

std::set<std::string> entries(const fs::path& dir) {
    std::set<std::string> s;
    for (const auto& e : fs::directory_iterator(dir))
        s.insert(e.path().filename().string());
    return s;
}

// Seeded values so failures reproduce.
torch::Tensor seeded(std::vector<int64_t> shape, uint64_t seed, double scale = 0.05) {
    auto gen = at::detail::createCPUGenerator(seed);
    return torch::randn(shape, gen, torch::kFloat32) * scale;
}

} // namespace

TEST(Sha256, KnownVectors) {
    Sha256 empty;
    EXPECT_EQ(empty.hexDigest(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    Sha256 abc;
    abc.update("abc");
    EXPECT_EQ(abc.hexDigest(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    Sha256 two; // 448 bits: the padding spills into a second block
    two.update("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq");
    EXPECT_EQ(two.hexDigest(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    test::TempDir dir;
    test::writeText(dir / "a.txt", std::string(1000000, 'a'));
    EXPECT_EQ(sha256File(dir / "a.txt"), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(CheckpointExport, ParsesSizesAndFormats) {
    EXPECT_EQ(parseByteSize("5GB"), 5000000000ull);
    EXPECT_EQ(parseByteSize("500MB"), 500000000ull);
    EXPECT_EQ(parseByteSize("64KiB"), 65536ull);
    EXPECT_EQ(parseByteSize("1000"), 1000ull);
    EXPECT_EQ(parseByteSize("1.5gb"), 1500000000ull);
    EXPECT_THROW(parseByteSize("five"), Error);
    EXPECT_THROW(parseByteSize("5XB"), Error);
    EXPECT_THROW(parseByteSize("0"), Error);
    EXPECT_EQ(parseExportFormat("nemotron-nas"), ExportFormat::NemotronNas);
    EXPECT_THROW(parseExportFormat("gguf"), Error);
    EXPECT_EQ(defaultExportFormat(LayerMask::parse("block:1,attn:2,ffn:2", 4)), ExportFormat::HuggingFace);
    EXPECT_EQ(defaultExportFormat(LayerMask::parse("block:1,attn:3", 4)), ExportFormat::NemotronNas);
}

TEST(CheckpointExport, HfRenumbersLayersAndShards) {
    test::TempDir dir;
    const auto src = test::referenceDir("llama_gqa");
    auto r = request(dir / "out", src, "block:1-2");
    r.shardBytes = 40000; // llama_gqa's tensors take about 0.5 MB: many shards
    const auto result = exportCheckpoint(src, r);
    EXPECT_EQ(result.format, ExportFormat::HuggingFace);
    EXPECT_EQ(result.sourceLayer, (std::vector<int64_t>{0, 3}));

    const auto out = dir / "out";
    auto config = test::readJson(out / "config.json");
    auto original = test::readJson(src / "config.json");
    EXPECT_EQ(config["num_hidden_layers"], 2);
    config["num_hidden_layers"] = 4;
    EXPECT_EQ(config, original); // every other field as it was

    const auto index = test::readJson(out / "model.safetensors.index.json");
    std::set<std::string> shardFiles;
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it)
        shardFiles.insert(it.value().get<std::string>());
    EXPECT_GT(shardFiles.size(), 3u);
    EXPECT_TRUE(shardFiles.count("model-00001-of-" +
                                 std::string(5 - std::to_string(shardFiles.size()).size(), '0') +
                                 std::to_string(shardFiles.size()) + ".safetensors"));
    uint64_t total = 0;
    for (const auto& f : shardFiles) {
        const auto shard = SafetensorsFile::open(out / f);
        EXPECT_LE(shard.dataBytes(), 40000u + 32768u); // one tensor may exceed the size on its own
        EXPECT_EQ(shard.metadata().at("format"), "pt");
        total += shard.dataBytes();
    }
    EXPECT_EQ(index["metadata"]["total_size"].get<uint64_t>(), total);
    EXPECT_FALSE(fs::exists(out / "model.safetensors"));

    // Layer 1 of the export is layer 3 of the source; nothing is called layer 2 any more.
    const auto ckpt = Checkpoint::open(out);
    EXPECT_TRUE(torch::equal(ckpt.tensor("model.layers.1.mlp.down_proj.weight"),
                             stored(src, "model.layers.3.mlp.down_proj.weight")));
    EXPECT_TRUE(torch::equal(ckpt.tensor("model.layers.0.self_attn.q_proj.weight"),
                             stored(src, "model.layers.0.self_attn.q_proj.weight")));
    EXPECT_FALSE(ckpt.has("model.layers.2.input_layernorm.weight"));
    EXPECT_EQ(ckpt.tensorNames().size(), 3u + 2u * 9u);

    EXPECT_LE(test::maxDiff(exported(out), pruned(src, "block:1-2")), 1e-5);

    // The manifest says where the export came from.
    const auto manifest = test::readJson(out / "layerlab.json");
    EXPECT_EQ(manifest["format"], "hf");
    EXPECT_EQ(manifest["removed"], "block:1-2");
    EXPECT_EQ(manifest["layerlab_version"], LAYERLAB_VERSION);
    bool sawConfig = false;
    for (const auto& f : manifest["source"]["files"])
        if (f["name"] == "config.json") {
            sawConfig = true;
            std::ifstream in(src / "config.json", std::ios::binary);
            std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            Sha256 h;
            h.update(text);
            EXPECT_EQ(f["sha256"], h.hexDigest());
        }
    EXPECT_TRUE(sawConfig);
    EXPECT_EQ(manifest["layers"][1]["source_layer"], 3);
}

TEST(CheckpointExport, ConvertsOrKeepsTheDtype) {
    test::TempDir dir;
    const auto src = test::referenceDir("llama_gqa");
    auto r = request(dir / "bf16", src, "block:0");
    r.dtype = torch::kBFloat16;
    exportCheckpoint(src, r);
    const auto config = test::readJson(dir / "bf16" / "config.json");
    EXPECT_EQ(config["dtype"], "bfloat16");
    const auto out = Checkpoint::open(dir / "bf16");
    for (const auto& name : out.tensorNames()) {
        EXPECT_EQ(out.info(name).dtype, StDType::BF16) << name;
    }
    EXPECT_TRUE(torch::equal(out.tensor("model.layers.0.mlp.up_proj.weight"),
                             stored(src, "model.layers.1.mlp.up_proj.weight").to(torch::kBFloat16)));

    // Kept: a bf16 checkpoint stays bf16 bit for bit.
    const auto bf = test::referenceDir("llama3_rope_bf16");
    exportCheckpoint(bf, request(dir / "kept", bf, "block:2"));
    const auto kept = Checkpoint::open(dir / "kept");
    EXPECT_EQ(kept.info("model.layers.2.self_attn.k_proj.weight").dtype,
              Checkpoint::open(bf).info("model.layers.3.self_attn.k_proj.weight").dtype);
    EXPECT_TRUE(torch::equal(kept.tensor("model.layers.2.self_attn.k_proj.weight"),
                             Checkpoint::open(bf).tensor("model.layers.3.self_attn.k_proj.weight")));
    EXPECT_EQ(test::readJson(dir / "kept" / "config.json")["dtype"],
              test::readJson(bf / "config.json")["dtype"]);
}

TEST(CheckpointExport, FoldsLoraIntoTheWeights) {
    test::TempDir dir;
    const auto src = test::referenceDir("llama_gqa");
    AdapterSet adapters;
    adapters.lora.push_back({0, Projection::Q, seeded({64, 2}, 1), seeded({2, 64}, 2)});
    adapters.lora.push_back({2, Projection::Down, seeded({96, 3}, 3), seeded({3, 64}, 4)});
    adapters.lora.push_back({1, Projection::V, seeded({64, 2}, 5), seeded({2, 32}, 6)}); // layer 1 is removed
    auto r = request(dir / "out", src, "block:1");
    r.adapters = adapters;
    exportCheckpoint(src, r);
    const auto out = Checkpoint::open(dir / "out");
    // W + (down up)^T, derived here in float64.
    auto want =
        stored(src, "model.layers.0.self_attn.q_proj.weight").to(torch::kFloat64) +
        torch::matmul(adapters.lora[0].down.to(torch::kFloat64), adapters.lora[0].up.to(torch::kFloat64)).t();
    EXPECT_LE(test::maxDiff(out.tensor("model.layers.0.self_attn.q_proj.weight"), want), 1e-6);
    want =
        stored(src, "model.layers.2.mlp.down_proj.weight").to(torch::kFloat64) +
        torch::matmul(adapters.lora[1].down.to(torch::kFloat64), adapters.lora[1].up.to(torch::kFloat64)).t();
    EXPECT_LE(test::maxDiff(out.tensor("model.layers.1.mlp.down_proj.weight"), want), 1e-6);
    EXPECT_LE(test::maxDiff(exported(dir / "out"), pruned(src, "block:1", adapters)), 1e-5);
    const auto manifest = test::readJson(dir / "out" / "layerlab.json");
    EXPECT_EQ(manifest["adapters"]["lora.0.q"]["folded_into"][0], "model.layers.0.self_attn.q_proj.weight");
    EXPECT_TRUE(manifest["adapters"]["lora.1.v"].contains("status"));
}

TEST(CheckpointExport, FoldsABiasStandInIntoThePrecedingDownProjection) {
    test::TempDir dir;
    const auto src = test::referenceDir("llama_gqa"); // no biases at all
    AdapterSet adapters;
    const auto bias = seeded({64}, 7, 0.5);
    adapters.units.push_back({Unit::Block, 2, bias, {}, {}});
    auto r = request(dir / "out", src, "block:2");
    r.adapters = adapters;
    exportCheckpoint(src, r);
    const auto config = test::readJson(dir / "out" / "config.json");
    EXPECT_EQ(config["mlp_bias"], true);
    EXPECT_EQ(config["attention_bias"], false);
    const auto out = Checkpoint::open(dir / "out");
    // Block 2 adds `bias` right after layer 1's FFN: its down_proj bias carries it.
    EXPECT_TRUE(torch::equal(out.tensor("model.layers.1.mlp.down_proj.bias"), bias));
    for (int l = 0; l < 3; ++l) {
        EXPECT_EQ(
            out.tensor("model.layers." + std::to_string(l) + ".mlp.gate_proj.bias").abs().max().item<float>(),
            0);
        EXPECT_EQ(out.tensor("model.layers." + std::to_string(l) + ".mlp.up_proj.bias").numel(), 96);
    }
    EXPECT_EQ(out.tensor("model.layers.2.mlp.down_proj.bias").abs().max().item<float>(), 0);
    EXPECT_LE(test::maxDiff(exported(dir / "out"), pruned(src, "block:2", adapters)), 1e-5);
    EXPECT_GT(test::maxDiff(exported(dir / "out"), pruned(src, "block:2")), 1e-3); // the bias matters
}

TEST(CheckpointExport, FoldsIntoTheEmbeddingAndUntiesWhenNothingPrecedes) {
    test::TempDir dir;
    const auto src = test::referenceDir("qwen2_tied");
    AdapterSet adapters;
    const auto bias = seeded({64}, 8, 0.5);
    adapters.units.push_back({Unit::Block, 0, bias, {}, {}});
    auto r = request(dir / "out", src, "block:0");
    r.adapters = adapters;
    const auto result = exportCheckpoint(src, r);
    EXPECT_FALSE(result.notes.empty());
    EXPECT_EQ(test::readJson(dir / "out" / "config.json")["tie_word_embeddings"], false);
    const auto out = Checkpoint::open(dir / "out");
    const auto embedding = stored(src, "model.embed_tokens.weight");
    EXPECT_TRUE(torch::equal(out.tensor("lm_head.weight"), embedding));
    EXPECT_LE(test::maxDiff(out.tensor("model.embed_tokens.weight"), embedding + bias), 1e-7);
    EXPECT_LE(test::maxDiff(exported(dir / "out"), pruned(src, "block:0", adapters)), 1e-5);

    // Later in a Qwen2 model the bias would need a down_proj bias, which Qwen2 does not have.
    adapters.units[0].layer = 2;
    auto r2 = request(dir / "out2", src, "block:2");
    r2.adapters = adapters;
    const auto message = errorOf([&] { exportCheckpoint(src, r2); });
    EXPECT_NE(message.find("Qwen2ForCausalLM has no such bias"), std::string::npos) << message;
    EXPECT_FALSE(fs::exists(dir / "out2"));
}

TEST(CheckpointExport, NemotronNasWritesNoOpAndLinearLayers) {
    test::TempDir dir;
    const auto src = test::referenceDir("llama_gqa");
    AdapterSet adapters;
    const auto down = seeded({64, 4}, 9, 0.2), up = seeded({4, 64}, 10, 0.2);
    adapters.units.push_back({Unit::Attention, 1, torch::zeros({64}), down, up});
    adapters.units.push_back({Unit::Ffn, 0, seeded({64}, 11, 0.3), {}, {}}); // folded into o_proj of layer 0
    adapters.lora.push_back({1, Projection::Up, seeded({64, 2}, 12), seeded({2, 96}, 13)});
    const std::string spec = "ffn:0,attn:1,ffn:2,block:3";
    auto r = request(dir / "out", src, spec);
    r.adapters = adapters;
    const auto result = exportCheckpoint(src, r);
    EXPECT_EQ(result.format, ExportFormat::NemotronNas);
    EXPECT_EQ(result.numLayers, 3);

    const auto config = test::readJson(dir / "out" / "config.json");
    EXPECT_EQ(config["architectures"][0], "DeciLMForCausalLM");
    EXPECT_EQ(config["model_type"], "nemotron-nas");
    EXPECT_EQ(config["num_hidden_layers"], 3);
    ASSERT_EQ(config["block_configs"].size(), 3u);
    const auto& b = config["block_configs"];
    EXPECT_EQ(b[0]["attention"]["n_heads_in_group"], 2); // 4 heads, 2 KV heads
    EXPECT_EQ(b[0]["ffn"]["no_op"], true);
    EXPECT_EQ(b[1]["attention"]["replace_with_linear"], true);
    EXPECT_EQ(b[1]["ffn"]["no_op"], false);
    EXPECT_EQ(b[2]["ffn"]["no_op"], true);
    // DeciLM widths are multiples of 256: 96 is padded to 256 with zeros.
    EXPECT_EQ(nemotronNasIntermediateSize(b[1]["ffn"]["ffn_mult"].get<double>(), 64), 256);

    const auto out = Checkpoint::open(dir / "out");
    EXPECT_LE(
        test::maxDiff(out.tensor("model.layers.1.self_attn.linear_attn.weight"), torch::matmul(down, up).t()),
        1e-7);
    EXPECT_FALSE(out.has("model.layers.1.self_attn.q_proj.weight"));
    EXPECT_FALSE(out.has("model.layers.0.mlp.down_proj.weight"));
    const auto gate = out.tensor("model.layers.1.mlp.gate_proj.weight");
    EXPECT_EQ(gate.sizes().vec(), (std::vector<int64_t>{256, 64}));
    EXPECT_TRUE(torch::equal(gate.narrow(0, 0, 96), stored(src, "model.layers.1.mlp.gate_proj.weight")));
    EXPECT_EQ(gate.narrow(0, 96, 160).abs().max().item<float>(), 0);
    EXPECT_TRUE(torch::equal(out.tensor("model.layers.0.self_attn.o_proj.bias"), adapters.units[1].bias));

    // LayerLab reads the layout back: no_op units are absent, linear units are their map.
    auto model = load(dir / "out");
    EXPECT_TRUE(model->config().nemotronNas);
    EXPECT_EQ(model->config().attentionKind[1], SubLayerKind::Linear);
    EXPECT_EQ(model->config().ffnKind[2], SubLayerKind::Absent);
    EXPECT_EQ(model->config().numKvHeads, 2);
    EXPECT_EQ(model->absentUnits().toSpec(), "ffn:0,ffn:2");
    EXPECT_LE(test::maxDiff(exported(dir / "out"), pruned(src, spec, adapters)), 1e-5);
}

TEST(CheckpointExport, NemotronNasFromQwen2KeepsItsBiases) {
    test::TempDir dir;
    const auto src = test::referenceDir("qwen2_tied");
    exportCheckpoint(src, request(dir / "out", src, "ffn:1,attn:3", ExportFormat::NemotronNas));
    const auto config = test::readJson(dir / "out" / "config.json");
    EXPECT_EQ(config["attention_bias"], true);
    EXPECT_FALSE(config.contains("layer_types"));
    EXPECT_LE(test::maxDiff(exported(dir / "out"), pruned(src, "ffn:1,attn:3")), 1e-5);
}

TEST(CheckpointExport, NemotronNasWritesSlidingWindowsAsWindowLength) {
    test::TempDir dir;
    const auto src = test::referenceDir("mistral_window"); // window 8 of 64 positions
    const auto result = exportCheckpoint(src, request(dir / "out", src, "attn:1", ExportFormat::NemotronNas));
    const auto b = test::readJson(dir / "out" / "config.json")["block_configs"];
    EXPECT_EQ(b[0]["attention"]["window_length"], 8);
    EXPECT_TRUE(b[1]["attention"]["window_length"].is_null()); // no_op
    EXPECT_EQ(load(dir / "out")->config().slidingWindow, (std::vector<int64_t>{8, 0, 8, 8}));
    EXPECT_LE(test::maxDiff(exported(dir / "out"), pruned(src, "attn:1")), 1e-5);
    EXPECT_EQ(describeRuntime(result.runtimes[1]), "vLLM: no, sliding windows (it ignores window_length)");
}

// Which runtimes load a Nemotron-NAS export follows their loaders' rules (nemotron_nas_writer.cpp
// cites them); transformers loads every one through the modeling file the export carries.
TEST(CheckpointExport, NemotronNasSaysWhichRuntimesLoadIt) {
    test::TempDir dir;
    auto runtimes = [&](const std::string& variant, const std::string& spec) {
        const auto src = test::referenceDir(variant);
        auto r = request(dir / "out", src, spec, ExportFormat::NemotronNas);
        r.planOnly = true;
        std::map<std::string, std::string> said;
        for (const auto& rt : exportCheckpoint(src, r).runtimes)
            said[rt.runtime] = describeRuntime(rt);
        EXPECT_EQ(said.size(), 4u);
        EXPECT_EQ(
            said["transformers"].rfind("transformers: yes, AutoModelForCausalLM with trust_remote_code", 0),
            0u);
        return said;
    };
    auto said = runtimes("llama_gqa", "ffn:1");
    EXPECT_EQ(said["vLLM"], "vLLM: yes, with trust_remote_code=True (configuration_decilm.py)");
    EXPECT_EQ(said["mlx-lm"], "mlx-lm: yes, as nemotron-nas");
    EXPECT_EQ(said["llama.cpp"].rfind("llama.cpp: unchecked", 0), 0u);
    said = runtimes("llama_gqa", "attn:0");
    EXPECT_EQ(said["vLLM"], "vLLM: no, layer 0's attention is removed (its FFN norm gets no residual)");
    EXPECT_EQ(said["mlx-lm"], "mlx-lm: yes, as nemotron-nas");
    said = runtimes("llama_gqa", "attn:0-3");
    EXPECT_EQ(said["vLLM"], "vLLM: no, every attention is removed (it cannot size the KV cache)");
    EXPECT_EQ(said["mlx-lm"],
              "mlx-lm: no, every attention is removed (it indexes the first attention's cache)");
    said = runtimes("llama_tied_bias_headdim", "ffn:1"); // head_dim 24, hidden 64, 4 heads
    EXPECT_EQ(said["vLLM"], "vLLM: yes, with trust_remote_code=True (configuration_decilm.py)");
    EXPECT_EQ(said["mlx-lm"],
              "mlx-lm: no, head_dim 24 is not hidden_size / num_attention_heads (it assumes so)");
    // Whole blocks in the hf format: the source's architecture, loaded everywhere.
    const auto src = test::referenceDir("qwen2_tied");
    auto r = request(dir / "hf", src, "block:1", ExportFormat::HuggingFace);
    r.planOnly = true;
    for (const auto& rt : exportCheckpoint(src, r).runtimes)
        EXPECT_EQ(rt.loads, Loads::Yes) << describeRuntime(rt);
}

TEST(CheckpointExport, NemotronNasWritesTheFieldsEveryLoaderReads) {
    // A legacy rope_scaling ("type", no "rope_type") and a head_dim that is not hidden / heads.
    test::TempDir dir;
    test::copyCheckpoint("llama_tied_bias_headdim", dir / "src");
    auto config = test::readJson(dir / "src" / "config.json");
    config["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
    test::writeText(dir / "src" / "config.json", config.dump(2));
    exportCheckpoint(dir / "src", request(dir / "out", dir / "src", "ffn:1", ExportFormat::NemotronNas));
    const auto out = test::readJson(dir / "out" / "config.json");
    EXPECT_EQ(out["rope_scaling"], nlohmann::json({{"rope_type", "linear"}, {"factor", 2.0}}));
    EXPECT_EQ(out["rope_theta"], config["rope_theta"]);
    EXPECT_FALSE(out.contains("rope_parameters"));
    EXPECT_EQ(out["head_dim"], 24);
    EXPECT_EQ(out["torch_dtype"], "float32");
    EXPECT_EQ(out["dtype"], "float32");
    // The code auto_map names is in the folder.
    for (const auto& [cls, file] : {std::pair{"AutoConfig", "configuration_decilm.py"},
                                    std::pair{"AutoModelForCausalLM", "modeling_decilm.py"}}) {
        const std::string target = out["auto_map"][cls];
        EXPECT_EQ(target.substr(0, target.find('.')) + ".py", file);
        std::ifstream in(dir / "out" / file);
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        EXPECT_NE(text.find("class " + target.substr(target.find('.') + 1) + "("), std::string::npos) << file;
    }
    const auto manifest = test::readJson(dir / "out" / "layerlab.json");
    EXPECT_EQ(manifest["runtimes"].size(), 4u);
    EXPECT_EQ(manifest["runtimes"][2]["runtime"], "mlx-lm");
    EXPECT_EQ(manifest["runtimes"][2]["loads"], "no");
    EXPECT_LE(test::maxDiff(exported(dir / "out"), pruned(dir / "src", "ffn:1")), 1e-5);
}

TEST(CheckpointExport, ZeroedKeepsTheArchitecture) {
    test::TempDir dir;
    const auto src = test::referenceDir("mistral_window");
    exportCheckpoint(src, request(dir / "out", src, "attn:1,block:2", ExportFormat::Zeroed));
    EXPECT_EQ(test::readJson(dir / "out" / "config.json"), test::readJson(src / "config.json"));
    const auto out = Checkpoint::open(dir / "out");
    EXPECT_EQ(out.tensor("model.layers.1.self_attn.o_proj.weight").abs().max().item<float>(), 0);
    EXPECT_EQ(out.tensor("model.layers.2.mlp.down_proj.weight").abs().max().item<float>(), 0);
    EXPECT_TRUE(torch::equal(out.tensor("model.layers.1.mlp.down_proj.weight"),
                             stored(src, "model.layers.1.mlp.down_proj.weight")));
    EXPECT_LE(test::maxDiff(exported(dir / "out"), pruned(src, "attn:1,block:2")), 1e-5);

    // A bias stand-in goes into the zeroed unit's own output bias (Llama: attention_bias on).
    const auto llama = test::referenceDir("llama_tied_bias_headdim");
    AdapterSet adapters;
    adapters.units.push_back({Unit::Attention, 2, seeded({64}, 14, 0.5), {}, {}});
    auto r = request(dir / "llama", llama, "attn:2", ExportFormat::Zeroed);
    r.adapters = adapters;
    exportCheckpoint(llama, r);
    const auto ll = Checkpoint::open(dir / "llama");
    EXPECT_TRUE(torch::equal(ll.tensor("model.layers.2.self_attn.o_proj.bias"), adapters.units[0].bias));
    EXPECT_LE(test::maxDiff(exported(dir / "llama"), pruned(llama, "attn:2", adapters)), 1e-5);
}

TEST(CheckpointExport, RefusesWhatTheFormatCannotHold) {
    test::TempDir dir;
    const auto src = test::referenceDir("llama_gqa");
    auto attempt = [&](const std::string& spec, ExportFormat f, const AdapterSet& adapters) {
        auto r = request(dir / "out", src, spec, f);
        r.adapters = adapters;
        return errorOf([&] { exportCheckpoint(src, r); });
    };
    AdapterSet block;
    block.units.push_back({Unit::Block, 1, torch::zeros({64}), seeded({64, 2}, 15), seeded({2, 64}, 16)});
    for (auto f : {ExportFormat::HuggingFace, ExportFormat::NemotronNas, ExportFormat::Zeroed}) {
        const auto m = attempt("block:1", f, block);
        EXPECT_NE(m.find("un-normalised block input"), std::string::npos) << m;
    }
    AdapterSet ffn;
    ffn.units.push_back({Unit::Ffn, 1, seeded({64}, 17), seeded({64, 2}, 18), seeded({2, 64}, 19)});
    auto m = attempt("ffn:1", ExportFormat::Zeroed, ffn);
    EXPECT_NE(m.find("--format nemotron-nas"), std::string::npos) << m;
    m = attempt("ffn:1", ExportFormat::NemotronNas, ffn); // the linear layer has no bias
    EXPECT_NE(m.find("have no bias"), std::string::npos) << m;
    m = attempt("attn:2", ExportFormat::HuggingFace, {});
    EXPECT_NE(m.find("drops whole blocks only"), std::string::npos) << m;
    m = attempt("block:0-3", ExportFormat::HuggingFace, {});
    EXPECT_NE(m.find("every layer"), std::string::npos) << m;
    EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST(CheckpointExport, NeverOverwritesOrWritesIntoTheSource) {
    test::TempDir dir;
    const auto src = dir / "src";
    test::copyCheckpoint("llama_gqa", src);
    test::writeText(src / "tokenizer_config.json", "{}");
    const auto before = sha256File(src / "model.safetensors");

    fs::create_directories(dir / "out");
    test::writeText(dir / "out" / "old.txt", "old");
    auto r = request(dir / "out", src, "block:1");
    auto m = errorOf([&] { exportCheckpoint(src, r); });
    EXPECT_NE(m.find("already exists; pass --force"), std::string::npos) << m;
    EXPECT_TRUE(fs::exists(dir / "out" / "old.txt"));
    r.force = true;
    exportCheckpoint(src, r);
    EXPECT_FALSE(fs::exists(dir / "out" / "old.txt"));
    EXPECT_TRUE(fs::exists(dir / "out" / "tokenizer_config.json")); // companion files come along
    EXPECT_TRUE(fs::exists(dir / "out" / "layerlab.json"));

    for (const auto& inside : {src / "pruned", src}) {
        auto in = request(inside, src, "block:1");
        in.force = true;
        m = errorOf([&] { exportCheckpoint(src, in); });
        EXPECT_NE(m.find("inside the source folder"), std::string::npos) << m;
    }
    auto around = request(dir.path(), src, "block:1");
    around.force = true;
    m = errorOf([&] { exportCheckpoint(src, around); });
    EXPECT_NE(m.find("source"), std::string::npos) << m;
    EXPECT_EQ(sha256File(src / "model.safetensors"), before);
    EXPECT_EQ(entries(src),
              (std::set<std::string>{"config.json", "model.safetensors", "tokenizer_config.json"}));
}

TEST(CheckpointExport, FailuresAndCancellationLeaveNoPartialTarget) {
    test::TempDir dir;
    const auto src = test::referenceDir("llama_gqa");
    const auto parent = dir / "exports";
    fs::create_directories(parent);

    // A write that fails halfway (the second file).
    auto r = request(parent / "out", src, "block:1");
    r.shardBytes = 40000;
    int files = 0;
    r.afterFileWritten = [&](const fs::path&) {
        if (++files == 2) throw Error("simulated write failure");
    };
    auto m = errorOf([&] { exportCheckpoint(src, r); });
    EXPECT_NE(m.find("simulated write failure"), std::string::npos) << m;
    EXPECT_TRUE(entries(parent).empty());

    // The same with an existing target and --force: the old folder stays as it was.
    fs::create_directories(parent / "out");
    test::writeText(parent / "out" / "keep.txt", "keep");
    files = 0;
    r.force = true;
    EXPECT_THROW(exportCheckpoint(src, r), Error);
    EXPECT_EQ(entries(parent), (std::set<std::string>{"out"}));
    EXPECT_EQ(entries(parent / "out"), (std::set<std::string>{"keep.txt"}));
    removeTree(parent / "out");

    // Cancelled halfway through the tensors.
    CancelToken token;
    int64_t reports = 0;
    Progress progress(
        [&](const ProgressInfo& info) {
            if (info.stage == "writing tensors" && ++reports == 10) token.cancel();
        },
        token);
    auto c = request(parent / "out", src, "block:1");
    EXPECT_THROW(exportCheckpoint(src, c, progress), Cancelled);
    EXPECT_EQ(reports, 10);
    EXPECT_TRUE(entries(parent).empty());

    // Not enough disk space: refused before anything is written.
    auto d = request(parent / "out", src, "block:1");
    d.freeSpace = [](const fs::path&) { return uint64_t{100000}; };
    m = errorOf([&] { exportCheckpoint(src, d); });
    EXPECT_NE(m.find("not enough free disk space"), std::string::npos) << m;
    EXPECT_TRUE(entries(parent).empty());
}

TEST(CheckpointExport, ModelOverloadUsesTheModelsAdapters) {
    test::TempDir dir;
    const auto src = test::referenceDir("llama_tied_bias_headdim");
    auto model = load(src);
    AdapterSet adapters;
    adapters.units.push_back({Unit::Ffn, 1, seeded({64}, 20, 0.5), {}, {}});
    adapters.lora.push_back({3, Projection::O, seeded({96, 2}, 21), seeded({2, 64}, 22)});
    model->setAdapters(adapters);
    auto r = request(dir / "out", src, "ffn:1,block:2");
    exportCheckpoint(*model, r);
    const auto want = model->forward(sampleIds(), LayerMask::parse("ffn:1,block:2", 4)).cpu();
    EXPECT_LE(test::maxDiff(exported(dir / "out"), want), 1e-5);
}

TEST(ModelConfig, ReadsNemotronNasBlockConfigs) {
    nlohmann::json j = {{"architectures", {"DeciLMForCausalLM"}},
                        {"model_type", "nemotron-nas"},
                        {"vocab_size", 100},
                        {"hidden_size", 4096},
                        {"num_hidden_layers", 3},
                        {"num_attention_heads", 32},
                        {"num_key_value_heads", nullptr},
                        {"intermediate_size", nullptr}};
    auto block = [](nlohmann::json attn, nlohmann::json ffn) {
        return nlohmann::json{{"attention", attn}, {"ffn", ffn}};
    };
    j["block_configs"] = {block({{"n_heads_in_group", 8}, {"no_op", false}, {"replace_with_linear", false}},
                                {{"ffn_mult", 5.25}, {"no_op", false}, {"replace_with_linear", false}}),
                          block({{"no_op", true}}, {{"replace_with_linear", true}}),
                          block({{"replace_with_linear", true}}, {{"no_op", true}})};
    const auto c = ModelConfig::fromJson(j, "config.json");
    EXPECT_TRUE(c.nemotronNas);
    EXPECT_EQ(c.numKvHeads, 4);
    EXPECT_EQ(c.intermediateSize, 14336); // int(2 * 5.25 * 4096 / 3) = 14336, a multiple of 256
    EXPECT_EQ(c.attentionKind,
              (std::vector<SubLayerKind>{SubLayerKind::Full, SubLayerKind::Absent, SubLayerKind::Linear}));
    EXPECT_EQ(c.ffnKind,
              (std::vector<SubLayerKind>{SubLayerKind::Full, SubLayerKind::Linear, SubLayerKind::Absent}));
    EXPECT_EQ(nemotronNasIntermediateSize(1.0, 4096), 2816); // 2730 rounded up to a multiple of 256

    auto bad = j;
    bad["block_configs"].erase(2);
    EXPECT_THROW(ModelConfig::fromJson(bad, "config.json"), Error);
    bad = j;
    bad["block_configs"][1]["attention"] = {{"n_heads_in_group", 4}};
    EXPECT_THROW(ModelConfig::fromJson(bad, "config.json"), Error); // KV heads differ between layers
}
