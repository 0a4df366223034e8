#include "model/rotary.h"

#include <cmath>

namespace layerlab {

torch::Tensor rotaryInverseFrequencies(const ModelConfig& c, int64_t seqLen) {
    const int64_t dim = c.headDim;
    const auto& r = c.rope;
    double base = r.theta;
    if (r.type == RopeType::Dynamic && seqLen > c.maxPositionEmbeddings) {
        // NTK-aware: grow the base once the sequence is longer than the trained context.
        base = base * std::pow(r.factor * static_cast<double>(seqLen) /
                                       static_cast<double>(c.maxPositionEmbeddings) -
                                   (r.factor - 1.0),
                               static_cast<double>(dim) / static_cast<double>(dim - 2));
    }
    auto exponents = torch::arange(0, dim, 2, torch::kInt64).to(torch::kFloat32) / static_cast<float>(dim);
    auto inv = 1.0 / torch::pow(torch::full({}, base, torch::kFloat32), exponents);
    if (r.type == RopeType::Linear) inv = inv / r.factor;
    if (r.type == RopeType::Llama3) {
        const double old = static_cast<double>(r.originalMaxPositionEmbeddings);
        const double lowWavelen = old / r.lowFreqFactor;
        const double highWavelen = old / r.highFreqFactor;
        auto wavelen = 2 * M_PI / inv;
        auto scaled = torch::where(wavelen > lowWavelen, inv / r.factor, inv);
        auto smooth = (old / wavelen - r.lowFreqFactor) / (r.highFreqFactor - r.lowFreqFactor);
        auto smoothed = (1 - smooth) * scaled / r.factor + smooth * scaled;
        auto medium = wavelen.ge(highWavelen).logical_and(wavelen.le(lowWavelen));
        inv = torch::where(medium, smoothed, scaled);
    }
    return inv.to(torch::kFloat32);
}

RotaryTables rotaryTables(const ModelConfig& c, const torch::Tensor& positions, torch::ScalarType dtype) {
    auto pos = positions.dim() == 1 ? positions.unsqueeze(0) : positions;
    const int64_t seqLen = pos.numel() ? pos.max().item<int64_t>() + 1 : 0;
    auto inv = rotaryInverseFrequencies(c, seqLen).to(pos.device());
    auto freqs = pos.to(torch::kFloat32).unsqueeze(-1) * inv.view({1, 1, -1}); // [B, T, dim/2]
    auto emb = torch::cat({freqs, freqs}, -1);
    return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

torch::Tensor applyRotary(const torch::Tensor& x, const RotaryTables& t) {
    const int64_t half = x.size(-1) / 2;
    auto x1 = x.narrow(-1, 0, half);
    auto x2 = x.narrow(-1, half, half);
    auto rotated = torch::cat({-x2, x1}, -1);
    auto cos = t.cos.unsqueeze(1);
    auto sin = t.sin.unsqueeze(1);
    return x * cos + rotated * sin;
}

torch::Tensor applyRotaryFused(const torch::Tensor& x, const RotaryTables& t) {
    const int64_t half = x.size(-1) / 2;
    auto cos = t.cos.unsqueeze(1);
    auto sin = t.sin.unsqueeze(1);
    auto out = x * cos;
    out.narrow(-1, 0, half).addcmul_(x.narrow(-1, half, half), sin.narrow(-1, 0, half), -1);
    out.narrow(-1, half, half).addcmul_(x.narrow(-1, 0, half), sin.narrow(-1, half, half));
    return out;
}

} // namespace layerlab
