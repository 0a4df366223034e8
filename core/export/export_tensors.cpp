#include "export/export_plan.h"

#include "model/tensor_names.h"

namespace layerlab::export_detail {

namespace {

TensorRole projectionRole(Projection p) {
    switch (p) {
    case Projection::Q:
        return TensorRole::QProj;
    case Projection::K:
        return TensorRole::KProj;
    case Projection::V:
        return TensorRole::VProj;
    case Projection::O:
        return TensorRole::OProj;
    case Projection::Gate:
        return TensorRole::GateProj;
    case Projection::Up:
        return TensorRole::UpProj;
    case Projection::Down:
        break;
    }
    return TensorRole::DownProj;
}

} // namespace

void ExportPlan::planTensors() {
    const int64_t H = c.hiddenSize;
    auto copy = [&](const std::string& src, const std::string& dst, torch::Tensor delta = {}) {
        const auto& info = ckpt.info(src);
        const auto dt = outDtype(src);
        tensors.push_back({dst, info.shape, dt, [this, src, dt, delta] {
                               auto t = ckpt.tensor(src);
                               if (delta.defined()) return (t.to(torch::kFloat32) + delta).to(dt);
                               return t.to(dt);
                           }});
    };
    auto zeros = [&](const std::string& dst, std::vector<int64_t> shape, torch::ScalarType dt,
                     torch::Tensor value = {}) {
        tensors.push_back({dst, shape, dt, [shape, dt, value] {
                               return value.defined() ? value.to(dt)
                                                      : torch::zeros(shape, torch::TensorOptions(dt));
                           }});
    };
    auto loraDelta = [&](int64_t l, Projection p) -> torch::Tensor {
        auto it = lora.find({l, static_cast<int>(p)});
        if (it == lora.end()) return {};
        const std::string label = "lora." + std::to_string(l) + "." + projectionName(p);
        foldedInto[label].push_back(tensorName(projectionRole(p), exportedIndex[static_cast<size_t>(l)]));
        return torch::matmul(it->second.down, it->second.up).t(); // (down up)^T: [out, in]
    };

    const std::string emb = tensorName(TensorRole::Embedding);
    copy(emb, emb, embeddingDelta.defined() ? embeddingDelta.unsqueeze(0) : torch::Tensor());

    for (size_t j = 0; j < sourceLayer.size(); ++j) {
        const int64_t l = sourceLayer[j];
        const auto li = static_cast<size_t>(l);
        const auto jl = static_cast<int64_t>(j);
        auto src = [&](TensorRole r) { return tensorName(r, l); };
        auto dst = [&](TensorRole r) { return tensorName(r, jl); };
        // Attention
        if (attn[li] != Slot::Absent) copy(src(TensorRole::InputNorm), dst(TensorRole::InputNorm));
        if (attn[li] == Slot::Linear) {
            const auto dt = outDtype(src(TensorRole::QProj));
            zeros(dst(TensorRole::LinearAttention), {H, H}, dt, attnLinear.at(l));
        } else if (attn[li] != Slot::Absent) {
            const bool zeroed = attn[li] == Slot::Zeroed;
            for (auto p : {Projection::Q, Projection::K, Projection::V})
                copy(src(projectionRole(p)), dst(projectionRole(p)),
                     zeroed ? torch::Tensor() : loraDelta(l, p));
            const auto oDt = outDtype(src(TensorRole::OProj));
            if (zeroed)
                zeros(dst(TensorRole::OProj), ckpt.info(src(TensorRole::OProj)).shape, oDt);
            else
                copy(src(TensorRole::OProj), dst(TensorRole::OProj), loraDelta(l, Projection::O));
            if (outQkvBias)
                for (auto [w, b] : {std::pair{TensorRole::QProj, TensorRole::QBias},
                                    std::pair{TensorRole::KProj, TensorRole::KBias},
                                    std::pair{TensorRole::VProj, TensorRole::VBias}}) {
                    if (c.qkvBias)
                        copy(src(b), dst(b));
                    else
                        zeros(dst(b), {ckpt.info(src(w)).shape[0]}, outDtype(src(w)));
                }
            if (outOBias) {
                auto it = oBiasDelta.find(l);
                const torch::Tensor delta = it == oBiasDelta.end() ? torch::Tensor() : it->second;
                if (c.oBias && !zeroed)
                    copy(src(TensorRole::OBias), dst(TensorRole::OBias), delta);
                else
                    zeros(dst(TensorRole::OBias), {H}, oDt, delta);
            }
        }
        // FFN
        if (ffn[li] != Slot::Absent)
            copy(src(TensorRole::PostAttentionNorm), dst(TensorRole::PostAttentionNorm));
        if (ffn[li] == Slot::Linear) {
            const auto dt = outDtype(src(TensorRole::DownProj));
            zeros(dst(TensorRole::LinearFfn), {H, H}, dt, ffnLinear.at(l));
        } else if (ffn[li] != Slot::Absent) {
            const bool zeroed = ffn[li] == Slot::Zeroed;
            const int64_t I = c.intermediateSize, P = ffnWidth;
            // Gate and up: [I, H] (+ LoRA), zero-padded to [P, H]; down: [H, I] -> [H, P].
            auto ffnTensor = [&](TensorRole role, Projection p, int dim) {
                const std::string s = src(role);
                const auto dt = outDtype(s);
                const torch::Tensor delta = zeroed ? torch::Tensor() : loraDelta(l, p);
                auto shape = ckpt.info(s).shape;
                if (P == I) {
                    if (zeroed && role == TensorRole::DownProj)
                        zeros(dst(role), shape, dt);
                    else
                        copy(s, dst(role), delta);
                    return;
                }
                shape[static_cast<size_t>(dim)] = P;
                tensors.push_back({dst(role), shape, dt, [this, s, dt, delta, shape, dim, I] {
                                       auto t = ckpt.tensor(s).to(torch::kFloat32);
                                       if (delta.defined()) t = t + delta;
                                       auto out = torch::zeros(shape, torch::kFloat32);
                                       out.narrow(dim, 0, I).copy_(t);
                                       return out.to(dt);
                                   }});
            };
            ffnTensor(TensorRole::GateProj, Projection::Gate, 0);
            ffnTensor(TensorRole::UpProj, Projection::Up, 0);
            ffnTensor(TensorRole::DownProj, Projection::Down, 1);
            if (outMlpBias) {
                for (auto [w, b] : {std::pair{TensorRole::GateProj, TensorRole::GateBias},
                                    std::pair{TensorRole::UpProj, TensorRole::UpBias}}) {
                    const auto dt = outDtype(src(w));
                    if (c.mlpBias && P == I)
                        copy(src(b), dst(b));
                    else if (c.mlpBias)
                        tensors.push_back({dst(b), {P}, dt, [this, s = src(b), dt, P, I] {
                                               auto out = torch::zeros({P}, torch::kFloat32);
                                               out.narrow(0, 0, I).copy_(ckpt.tensor(s).to(torch::kFloat32));
                                               return out.to(dt);
                                           }});
                    else
                        zeros(dst(b), {P}, dt);
                }
                auto it = downBiasDelta.find(l);
                const torch::Tensor delta = it == downBiasDelta.end() ? torch::Tensor() : it->second;
                const auto dt = outDtype(src(TensorRole::DownProj));
                if (c.mlpBias && !zeroed)
                    copy(src(TensorRole::DownBias), dst(TensorRole::DownBias), delta);
                else
                    zeros(dst(TensorRole::DownBias), {H}, dt, delta);
            }
        }
    }
    const std::string norm = tensorName(TensorRole::FinalNorm);
    copy(norm, norm);
    const std::string head = tensorName(TensorRole::LmHead);
    if (!c.tieWordEmbeddings)
        copy(head, head);
    else if (untie)
        copy(emb, head);

    // LoRA corrections of units that do not run under this mask do nothing in the model.
    for (const auto& [key, a] : lora) {
        const std::string label = "lora." + std::to_string(a.layer) + "." + projectionName(a.projection);
        ojson rec = {{"layer", a.layer}, {"projection", projectionName(a.projection)}, {"rank", a.rank()}};
        if (!foldedInto.count(label)) rec["status"] = "inactive: its sub-layer is removed";
        adapterRecords[label] = rec;
    }
}

} // namespace layerlab::export_detail
