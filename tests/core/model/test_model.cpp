// The engine against Hugging Face transformers: logits, losses and the residual stream of tiny
// random checkpoints of every supported variant, with and without layer masks. The references were
// computed in float64 by tools/make_reference.py (see tests/data/reference/index.json).

#include "common/error.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "test_helpers.h"

#include <gtest/gtest.h>
#include <torch/version.h>

using namespace layerlab;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kVariants = {"llama_gqa",        "llama_tied_bias_headdim",
                                            "llama3_rope_bf16", "llama_dynamic_f16",
                                            "mistral_window",   "qwen2_tied",
                                            "llama_sharded"};

struct Reference {
    SafetensorsFile tensors;
    nlohmann::json meta;
    nlohmann::json masks;
};

Reference loadReference(const std::string& variant) {
    return {SafetensorsFile::open(test::referenceDir(variant) / "reference.safetensors"),
            test::readJson(test::referenceDir(variant) / "reference.json"),
            test::readJson(test::dataDir() / "reference" / "index.json")["masks"]};
}

double maxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kCPU, torch::kFloat64) - b.to(torch::kCPU, torch::kFloat64))
        .abs()
        .max()
        .item<double>();
}

class ModelReference : public ::testing::TestWithParam<std::string> {};

} // namespace

TEST_P(ModelReference, LogitsAndLossMatchTransformersForEveryMask) {
    const auto variant = GetParam();
    auto ref = loadReference(variant);
    auto model = Model::load(test::referenceDir(variant), {test::testDevice(), torch::kFloat32});
    EXPECT_TRUE(model->unusedTensors().empty());
    auto ids = ref.tensors.tensor("input_ids");
    torch::NoGradGuard noGrad;
    for (auto it = ref.masks.begin(); it != ref.masks.end(); ++it) {
        SCOPED_TRACE("mask " + it.key() + " = '" + it.value().get<std::string>() + "'");
        auto mask = LayerMask::parse(it.value().get<std::string>(), model->numLayers());
        auto logits = model->forward(ids, mask);
        EXPECT_LE(maxAbsDiff(logits, ref.tensors.tensor("logits_" + it.key())), 1e-4);
        const double loss = nextTokenLoss(logits, ids).mean();
        EXPECT_NEAR(loss, ref.meta["losses"][it.key()].get<double>(), 1e-5);
    }
}

TEST_P(ModelReference, ResidualCaptureMatchesTransformers) {
    const auto variant = GetParam();
    auto ref = loadReference(variant);
    auto model = Model::load(test::referenceDir(variant), {test::testDevice(), torch::kFloat32});
    auto ids = ref.tensors.tensor("input_ids");
    torch::NoGradGuard noGrad;
    ResidualCapture capture(model->numLayers());
    model->forward(ids, LayerMask(model->numLayers()), &capture);
    for (int64_t l = 0; l < model->numLayers(); ++l) {
        SCOPED_TRACE("layer " + std::to_string(l));
        EXPECT_LE(maxAbsDiff(capture.at(l, ResidualPoint::BlockInput),
                             ref.tensors.tensor("residual_in_" + std::to_string(l))),
                  1e-4);
        EXPECT_LE(maxAbsDiff(capture.at(l, ResidualPoint::AfterAttention),
                             ref.tensors.tensor("residual_mid_" + std::to_string(l))),
                  1e-4);
        EXPECT_LE(maxAbsDiff(capture.at(l, ResidualPoint::BlockOutput),
                             ref.tensors.tensor("residual_out_" + std::to_string(l))),
                  1e-4);
    }
}

INSTANTIATE_TEST_SUITE_P(Variants, ModelReference, ::testing::ValuesIn(kVariants));

TEST(Model, DropOneLossesMatchTransformers) {
    // Every single unit removed in turn: 3 x L masked passes against transformers' hooks.
    for (const std::string variant : {"llama_gqa", "qwen2_tied"}) {
        auto ref = loadReference(variant);
        auto model = Model::load(test::referenceDir(variant), {test::testDevice(), torch::kFloat32});
        auto ids = ref.tensors.tensor("input_ids");
        torch::NoGradGuard noGrad;
        for (Unit u : {Unit::Block, Unit::Attention, Unit::Ffn}) {
            for (int64_t l = 0; l < model->numLayers(); ++l) {
                LayerMask mask(model->numLayers());
                mask.remove(u, l);
                const double loss = nextTokenLoss(model->forward(ids, mask), ids).mean();
                EXPECT_NEAR(loss, ref.meta["drop_one"][unitName(u)]["loss"][l].get<double>(), 1e-5)
                    << variant << " " << unitName(u) << ":" << l;
            }
        }
    }
}

TEST(Model, RunLayersRestartsFromACachedResidual) {
    // What drop-one and Shapley rely on: continuing from a captured point gives the same logits,
    // to the bit, on the GPU's fused paths too (there the full pass normalised each block input
    // in the kernel of the add before it, the restart normalises it alone).
    auto ids = loadReference("llama_gqa").tensors.tensor("input_ids");
    for (const auto dtype : {torch::kFloat32, torch::kBFloat16}) {
        auto model = Model::load(test::referenceDir("llama_gqa"), {test::testDevice(), dtype});
        torch::NoGradGuard noGrad;
        LayerMask mask = LayerMask::parse("attn:3", model->numLayers());
        ResidualCapture capture(model->numLayers());
        auto full = model->forward(ids, mask, &capture);
        auto ctx = model->context(ids);
        for (const int64_t start : {1, 2}) {
            auto h = model->runLayers(capture.at(start, ResidualPoint::BlockInput), start, model->numLayers(),
                                      mask, ctx);
            EXPECT_TRUE(torch::equal(model->logits(h), full))
                << c10::toString(dtype) << " from layer " << start;
        }
    }
}

TEST(Model, HalfPrecisionAgreesWithFloat32) {
    // bf16/f16 compute is for speed; report how far it drifts and bound it loosely.
    auto ref = loadReference("llama_gqa");
    auto ids = ref.tensors.tensor("input_ids");
    torch::NoGradGuard noGrad;
    for (auto dtype : {torch::kBFloat16, torch::kFloat16}) {
#if TORCH_VERSION_MAJOR < 2
        if (test::testDevice().is_cpu() && dtype == torch::kFloat16) {
            EXPECT_THROW(Model::load(test::referenceDir("llama_gqa"), {torch::kCPU, dtype}), Error);
            continue;
        }
#endif
        auto model = Model::load(test::referenceDir("llama_gqa"), {test::testDevice(), dtype});
        auto logits = model->forward(ids, LayerMask(model->numLayers()));
        EXPECT_EQ(logits.scalar_type(), dtype);
        const double loss = nextTokenLoss(logits, ids).mean();
        const double refLoss = ref.meta["losses"]["none"].get<double>();
        const double diff = maxAbsDiff(logits, ref.tensors.tensor("logits_none"));
        RecordProperty(std::string(c10::toString(dtype)) + "_max_abs_logit_diff", std::to_string(diff));
        std::cout << c10::toString(dtype) << " on " << test::testDevice() << ": loss " << loss << " vs "
                  << refLoss << " (rel " << std::abs(loss - refLoss) / refLoss << "), max |logit diff| "
                  << diff << "\n";
        EXPECT_NEAR(loss, refLoss, 0.01 * refLoss);
        EXPECT_LE(diff, 0.25);
    }
}

TEST(Model, ParameterCountsAddUp) {
    auto model = Model::load(test::referenceDir("llama_tied_bias_headdim"), {torch::kCPU, torch::kFloat32});
    const auto& c = model->config();
    auto p = model->parameterCounts();
    // Hand count: H=64, I=96, heads 4 x 24, kv 2 x 24, biases everywhere, tied head.
    const int64_t H = 64, I = 96, q = 96, kv = 48;
    const int64_t attn = H + (q * H + q) + 2 * (kv * H + kv) + (H * q + H);
    const int64_t ffn = H + 2 * (I * H + I) + (H * I + H);
    EXPECT_EQ(p.attention[0], attn);
    EXPECT_EQ(p.ffn[0], ffn);
    EXPECT_EQ(p.lmHead, 0);
    EXPECT_EQ(p.total, c.vocabSize * H + H + c.numLayers * (attn + ffn));
}

TEST(Model, RejectsTokenIdsOutsideVocabulary) {
    auto model = Model::load(test::referenceDir("llama_gqa"), {torch::kCPU, torch::kFloat32});
    auto ids = torch::tensor({{1, 2, 500}}, torch::kInt64);
    torch::NoGradGuard noGrad;
    EXPECT_THROW(model->forward(ids, LayerMask(model->numLayers())), Error);
}

TEST(Model, LoadCanBeCancelledHalfway) {
    CancelToken token;
    int64_t seen = 0;
    Progress progress(
        [&](const ProgressInfo& p) {
            seen = p.done;
            if (p.done * 2 >= p.total) token.cancel();
        },
        token);
    EXPECT_THROW(Model::load(test::referenceDir("llama_gqa"), {torch::kCPU, torch::kFloat32}, progress),
                 Cancelled);
    EXPECT_GT(seen, 0);
}

TEST(NextTokenLoss, HandComputed) {
    // Two positions predicted; uniform logits over 4 tokens give log(4) each.
    auto logits = torch::zeros({1, 3, 4});
    auto ids = torch::tensor({{0, 1, 2}}, torch::kInt64);
    auto l = nextTokenLoss(logits, ids);
    EXPECT_EQ(l.tokens, 2);
    EXPECT_NEAR(l.mean(), std::log(4.0), 1e-6);
    // A confident right guess at position 0 (logit 10 on token 1) lowers only that term.
    logits[0][0][1] = 10.0;
    l = nextTokenLoss(logits, ids);
    const double first = -10.0 + std::log(std::exp(10.0) + 3.0);
    EXPECT_NEAR(l.mean(), (first + std::log(4.0)) / 2, 1e-6);
}

// A chunk of positions at a time (what a GPU does, so the float32 logits are never whole): the
// same sum and count as all at once, with and without a target mask.
TEST(NextTokenLoss, ChunkedEqualsWhole) {
    torch::manual_seed(1);
    const auto logits = torch::randn({3, 11, 7});
    const auto ids = torch::randint(0, 7, {3, 11}, torch::kInt64);
    auto mask = torch::rand({3, 11}).gt(0.3);
    for (const auto& targets : {torch::Tensor(), mask}) {
        const auto whole = nextTokenLoss(logits, ids, targets);
        for (int64_t rows : {1, 4, 10, 64}) {
            const auto chunked = nextTokenLoss(logits, ids, targets, rows);
            EXPECT_EQ(chunked.tokens, whole.tokens) << rows;
            EXPECT_NEAR(chunked.sum, whole.sum, 1e-5 * std::abs(whole.sum)) << rows;
        }
    }
    EXPECT_EQ(nextTokenLoss(logits, ids).tokens, 30);
}
