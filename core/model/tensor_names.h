#pragma once
// The one place that spells checkpoint tensor names. Loading, pruning and export ask this table
// which tensor plays which role, and which tensors belong to a layer.

#include <optional>
#include <string>
#include <vector>

#include "model/model_config.h"

namespace layerlab {

enum class TensorRole {
    // model-wide
    Embedding,
    FinalNorm,
    LmHead,
    // per layer
    InputNorm,
    QProj,
    KProj,
    VProj,
    OProj,
    QBias,
    KBias,
    VBias,
    OBias,
    PostAttentionNorm,
    GateProj,
    UpProj,
    DownProj,
    GateBias,
    UpBias,
    DownBias,
    // Nemotron-NAS replace_with_linear sub-layers: one [H, H] map of the normalised input
    LinearAttention,
    LinearFfn,
};

enum class SubLayer { None, Attention, Ffn };

struct TensorRoleInfo {
    TensorRole role;
    bool perLayer;
    SubLayer subLayer; // which sub-layer a per-layer tensor belongs to (norms included)
};

const std::vector<TensorRoleInfo>& allTensorRoles();

// The checkpoint name of a role, e.g. "model.layers.3.self_attn.q_proj.weight".
std::string tensorName(TensorRole role, int64_t layer = -1);

// Whether a checkpoint of this config must contain the role (for per-layer roles: in some layer).
bool roleExpected(const ModelConfig& config, TensorRole role);
// Whether layer `layer` must contain the per-layer role (Nemotron-NAS layers differ).
bool roleExpected(const ModelConfig& config, TensorRole role, int64_t layer);

// Inverse lookup: the role and layer of a checkpoint name, or nothing if the name is not ours.
struct NamedRole {
    TensorRole role;
    int64_t layer;
};
std::optional<NamedRole> parseTensorName(const std::string& name);

} // namespace layerlab
