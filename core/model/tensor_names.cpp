#include "model/tensor_names.h"

#include <charconv>

namespace layerlab {

namespace {

struct Row {
    TensorRoleInfo info;
    const char* suffix; // after "model.layers.N." for per-layer roles, the full name otherwise
};

const std::vector<Row>& rows() {
    using R = TensorRole;
    using S = SubLayer;
    static const std::vector<Row> table = {
        {{R::Embedding, false, S::None}, "model.embed_tokens.weight"},
        {{R::FinalNorm, false, S::None}, "model.norm.weight"},
        {{R::LmHead, false, S::None}, "lm_head.weight"},
        {{R::InputNorm, true, S::Attention}, "input_layernorm.weight"},
        {{R::QProj, true, S::Attention}, "self_attn.q_proj.weight"},
        {{R::KProj, true, S::Attention}, "self_attn.k_proj.weight"},
        {{R::VProj, true, S::Attention}, "self_attn.v_proj.weight"},
        {{R::OProj, true, S::Attention}, "self_attn.o_proj.weight"},
        {{R::QBias, true, S::Attention}, "self_attn.q_proj.bias"},
        {{R::KBias, true, S::Attention}, "self_attn.k_proj.bias"},
        {{R::VBias, true, S::Attention}, "self_attn.v_proj.bias"},
        {{R::OBias, true, S::Attention}, "self_attn.o_proj.bias"},
        {{R::PostAttentionNorm, true, S::Ffn}, "post_attention_layernorm.weight"},
        {{R::GateProj, true, S::Ffn}, "mlp.gate_proj.weight"},
        {{R::UpProj, true, S::Ffn}, "mlp.up_proj.weight"},
        {{R::DownProj, true, S::Ffn}, "mlp.down_proj.weight"},
        {{R::GateBias, true, S::Ffn}, "mlp.gate_proj.bias"},
        {{R::UpBias, true, S::Ffn}, "mlp.up_proj.bias"},
        {{R::DownBias, true, S::Ffn}, "mlp.down_proj.bias"},
        {{R::LinearAttention, true, S::Attention}, "self_attn.linear_attn.weight"},
        {{R::LinearFfn, true, S::Ffn}, "mlp.linear_mlp.weight"},
    };
    return table;
}

const Row& rowOf(TensorRole role) {
    for (const auto& r : rows())
        if (r.info.role == role) return r;
    return rows().front();
}

constexpr const char* kLayerPrefix = "model.layers.";

} // namespace

const std::vector<TensorRoleInfo>& allTensorRoles() {
    static const std::vector<TensorRoleInfo> infos = [] {
        std::vector<TensorRoleInfo> v;
        for (const auto& r : rows())
            v.push_back(r.info);
        return v;
    }();
    return infos;
}

std::string tensorName(TensorRole role, int64_t layer) {
    const Row& r = rowOf(role);
    if (!r.info.perLayer) return r.suffix;
    return std::string(kLayerPrefix) + std::to_string(layer) + "." + r.suffix;
}

bool roleExpected(const ModelConfig& c, TensorRole role) {
    switch (role) {
    case TensorRole::LmHead:
        return !c.tieWordEmbeddings;
    case TensorRole::QBias:
    case TensorRole::KBias:
    case TensorRole::VBias:
        return c.qkvBias;
    case TensorRole::OBias:
        return c.oBias;
    case TensorRole::GateBias:
    case TensorRole::UpBias:
    case TensorRole::DownBias:
        return c.mlpBias;
    case TensorRole::LinearAttention:
    case TensorRole::LinearFfn:
        return c.nemotronNas;
    default:
        return true;
    }
}

bool roleExpected(const ModelConfig& c, TensorRole role, int64_t layer) {
    if (!roleExpected(c, role)) return false;
    const TensorRoleInfo* info = nullptr;
    for (const auto& r : allTensorRoles())
        if (r.role == role) info = &r;
    if (!info || !info->perLayer) return true;
    const auto& kinds = info->subLayer == SubLayer::Attention ? c.attentionKind : c.ffnKind;
    const SubLayerKind kind = layer >= 0 && static_cast<size_t>(layer) < kinds.size()
                                  ? kinds[static_cast<size_t>(layer)]
                                  : SubLayerKind::Full;
    const bool norm = role == TensorRole::InputNorm || role == TensorRole::PostAttentionNorm;
    const bool linear = role == TensorRole::LinearAttention || role == TensorRole::LinearFfn;
    switch (kind) {
    case SubLayerKind::Full:
        return !linear;
    case SubLayerKind::Linear:
        return norm || linear;
    case SubLayerKind::Absent:
        break;
    }
    return false;
}

std::optional<NamedRole> parseTensorName(const std::string& name) {
    const std::string prefix = kLayerPrefix;
    if (name.rfind(prefix, 0) == 0) {
        const char* begin = name.data() + prefix.size();
        const char* end = name.data() + name.size();
        int64_t layer = -1;
        auto [p, ec] = std::from_chars(begin, end, layer);
        if (ec != std::errc() || p == end || *p != '.' || layer < 0) return std::nullopt;
        const std::string suffix(p + 1, end);
        for (const auto& r : rows())
            if (r.info.perLayer && suffix == r.suffix) return NamedRole{r.info.role, layer};
        return std::nullopt;
    }
    for (const auto& r : rows())
        if (!r.info.perLayer && name == r.suffix) return NamedRole{r.info.role, -1};
    return std::nullopt;
}

} // namespace layerlab
