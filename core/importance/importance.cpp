#include "importance/importance.h"

#include "common/error.h"
#include "common/out_of_memory.h"
#include "data/token_batch.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace layerlab {

std::vector<ImportanceBatch>
makeImportanceBatches(const Model& model, const std::vector<TokenWindow>& windows, int64_t batchSize) {
    if (windows.empty()) throw Error("no sequences for the importance metric");
    if (batchSize < 1) throw Error("batch size must be at least 1");
    std::map<int64_t, std::vector<TokenWindow>> byLength;
    for (const auto& w : windows)
        byLength[w.size()].push_back(w);
    std::vector<ImportanceBatch> out;
    for (const auto& [length, group] : byLength) {
        for (size_t b = 0; b < group.size(); b += static_cast<size_t>(batchSize)) {
            const size_t n = std::min(group.size() - b, static_cast<size_t>(batchSize));
            std::span<const TokenWindow> part(group.data() + b, n);
            out.push_back({batchTensor(part).to(model.device()), targetMask(part).to(model.device())});
        }
    }
    return out;
}

namespace {

enum Stat { Cosine, L1, L2, RelL1, RelL2, NumStats };
const char* const kStatNames[NumStats] = {"cosine", "l1_update", "l2_update", "rel_l1_update",
                                          "rel_l2_update"};

// Sums per-position statistics on the device (float64 accumulators, [stat, unit, layer]) so that
// no activation outlives its layer and the host is not synchronised per layer. Kept close to a
// plain forward pass in time: each residual point's norms are taken once (reductions accumulate
// in float32 straight from the compute dtype, nothing is converted), each unit adds one
// difference and its two norms, and the cosine follows from norms alone:
//   1 - cos(a, b) = (|b - a|^2 - (|a| - |b|)^2) / (2 |a| |b|)
// which, unlike 1 - a.b / (|a||b|), does not lose the small differences to cancellation.
class ResidualStatsObserver : public ResidualObserver {
public:
    ResidualStatsObserver(int64_t numLayers, int64_t angularN, torch::Device device)
        : numLayers_(numLayers), angularN_(angularN),
          sums_(torch::zeros({NumStats, 3, numLayers}, torch::dtype(torch::kFloat64).device(device))),
          angular_(torch::zeros({std::max<int64_t>(numLayers - angularN + 1, 1)},
                                torch::dtype(torch::kFloat64).device(device))),
          history_(static_cast<size_t>(numLayers + 1)) {}

    bool wants(int64_t, ResidualPoint) const override { return true; }

    void observe(int64_t layer, ResidualPoint point, const torch::Tensor& hidden) override {
        Point p{hidden, norm(hidden, 1), norm(hidden, 2)};
        switch (point) {
        case ResidualPoint::BlockInput:
            keep(layer, p);
            in_ = std::move(p);
            break;
        case ResidualPoint::AfterAttention:
            accumulate(Unit::Attention, layer, in_, p);
            mid_ = std::move(p);
            break;
        case ResidualPoint::BlockOutput:
            accumulate(Unit::Ffn, layer, mid_, p);
            accumulate(Unit::Block, layer, in_, p);
            if (layer == numLayers_ - 1) keep(numLayers_, p);
            in_ = mid_ = Point{};
            break;
        }
    }

    const torch::Tensor& sums() const { return sums_; }
    const torch::Tensor& angular() const { return angular_; }

private:
    struct Point {
        torch::Tensor h, l1, l2; // residual [B, T, H] in the compute dtype; float32 norms [B, T]
    };

    static torch::Tensor norm(const torch::Tensor& x, double ord) {
        return at::linalg_vector_norm(x, ord, at::IntArrayRef{-1}, false, torch::kFloat32);
    }

    void accumulate(Unit unit, int64_t layer, const Point& a, const Point& b) {
        // The difference in float32 when the compute dtype is half precision would double the
        // memory traffic; its rounding (relative 2^-9 per element) averages out in the norms.
        auto d = b.h - a.h;
        auto l1 = norm(d, 1), l2 = norm(d, 2);
        const double eps = 1e-8; // as torch::cosine_similarity clamps the norms
        auto na = a.l2.clamp_min(eps), nb = b.l2.clamp_min(eps);
        auto oneMinusCos = (l2 * l2 - (na - nb).square()) / (2 * na * nb);
        auto stats =
            torch::stack({oneMinusCos, l1, l2, l1 / a.l1, l2 / a.l2}).to(torch::kFloat64).flatten(1).sum(1);
        sums_.select(1, static_cast<int64_t>(unit)).select(1, layer).add_(stats.to(sums_.device()));
    }

    // Residual before layer p (p = L: after the last block); only the last n are held.
    void keep(int64_t p, const Point& point) {
        if (angularN_ < 1) return;
        if (p >= angularN_) {
            auto& earlier = history_[static_cast<size_t>(p - angularN_)];
            // On a split model the two points may sit on different devices.
            auto cos = torch::cosine_similarity(earlier.h.to(point.h.device(), torch::kFloat32),
                                                point.h.to(torch::kFloat32), -1)
                           .clamp(-1.0, 1.0)
                           .to(torch::kFloat64);
            angular_[p - angularN_] += (torch::acos(cos) / std::numbers::pi).sum().to(angular_.device());
            earlier = Point{};
        }
        history_[static_cast<size_t>(p)] = point;
    }

    int64_t numLayers_, angularN_;
    torch::Tensor sums_, angular_;
    Point in_, mid_;
    std::vector<Point> history_;
};

std::vector<double> toVector(const torch::Tensor& t) {
    auto c = t.to(torch::kCPU, torch::kFloat64).contiguous();
    return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

} // namespace

ResidualMetricsResult residualMetrics(const Model& model, const std::vector<TokenWindow>& windows,
                                      const ResidualMetricsOptions& options, const Progress& progress) try {
    const int64_t L = model.numLayers();
    if (options.angularN < 0 || options.angularN > L)
        throw Error("angular distance: n must be between 1 and the number of layers (" + std::to_string(L) +
                    ")");
    auto batches = makeImportanceBatches(model, windows, options.batchSize);
    torch::InferenceMode inference;
    ResidualStatsObserver observer(L, options.angularN, model.device());
    ResidualMetricsResult r;
    const LayerMask mask(L);
    LossSum loss;
    for (size_t i = 0; i < batches.size(); ++i) {
        progress.checkCancelled();
        const auto& b = batches[i];
        loss += nextTokenLoss(model.forward(b.ids, mask, &observer), b.ids, b.targets);
        r.scores.positions += b.ids.numel();
        progress.report("residual metrics", static_cast<int64_t>(i + 1), static_cast<int64_t>(batches.size()),
                        "forward passes");
    }
    const double positions = static_cast<double>(r.scores.positions);
    auto sums = observer.sums().to(torch::kCPU) / positions;
    for (int s = 0; s < NumStats; ++s)
        for (Unit u : {Unit::Block, Unit::Attention, Unit::Ffn})
            r.scores.scores[kStatNames[s]][u] = toVector(sums[s][static_cast<int64_t>(u)]);
    if (options.angularN > 0) {
        auto angular = toVector(observer.angular() / positions);
        r.angularN = options.angularN;
        r.bestAngularStart =
            static_cast<int64_t>(std::min_element(angular.begin(), angular.end()) - angular.begin());
        r.scores.scores["angular"][Unit::Block] = std::move(angular);
    }
    r.scores.fullLoss = loss.mean();
    r.scores.scoredTokens = loss.tokens;
    r.scores.forwardPasses = r.scores.naiveForwardPasses = static_cast<double>(batches.size());
    return r;
} catch (const std::exception& e) {
    rethrowIfOutOfMemory(e, "computing residual-stream metrics");
    throw;
}

namespace {

// Keeps only the block inputs, the restart points of masked passes.
class BlockInputCapture : public ResidualObserver {
public:
    explicit BlockInputCapture(int64_t numLayers) : inputs(static_cast<size_t>(numLayers)) {}
    bool wants(int64_t, ResidualPoint point) const override { return point == ResidualPoint::BlockInput; }
    void observe(int64_t layer, ResidualPoint, const torch::Tensor& hidden) override {
        inputs[static_cast<size_t>(layer)] = hidden;
    }
    std::vector<torch::Tensor> inputs;
};

} // namespace

std::string metricName(const std::string& base, ValueFunction value) {
    if (value == ValueFunction::Loss) return base;
    if (base == "drop_loss") return "drop_" + valueFunctionName(value);
    return base + "_" + valueFunctionName(value);
}

ImportanceScores dropLoss(const Model& model, const std::vector<TokenWindow>& windows,
                          const std::vector<Unit>& units, const ImportanceOptions& options,
                          const Progress& progress) try {
    const int64_t L = model.numLayers();
    auto batches = makeImportanceBatches(model, windows, options.batchSize);
    torch::InferenceMode inference;
    LossSum full;
    std::vector<std::vector<LossSum>> dropped(units.size(), std::vector<LossSum>(static_cast<size_t>(L)));
    const int64_t total = static_cast<int64_t>(batches.size()) * (1 + static_cast<int64_t>(units.size()) * L);
    int64_t done = 0;
    double layersRun = 0;
    for (const auto& b : batches) {
        progress.checkCancelled();
        BlockInputCapture capture(L);
        auto fullLogits = model.forward(b.ids, LayerMask(L), &capture);
        const BatchScorer score(options.value, model, b, fullLogits);
        full += score(fullLogits);
        fullLogits = torch::Tensor();
        layersRun += static_cast<double>(L);
        progress.report("drop-one loss", ++done, total, "forward passes");
        auto ctx = model.context(b.ids);
        for (size_t u = 0; u < units.size(); ++u) {
            for (int64_t l = 0; l < L; ++l) {
                progress.checkCancelled();
                LayerMask mask(L);
                mask.remove(units[u], l);
                auto h = model.runLayers(capture.inputs[static_cast<size_t>(l)], l, L, mask, ctx);
                dropped[u][static_cast<size_t>(l)] += score(model.logits(h));
                layersRun += static_cast<double>(L - l);
                progress.report("drop-one loss", ++done, total, "forward passes");
            }
        }
    }
    ImportanceScores r;
    r.fullLoss = full.mean();
    r.scoredTokens = full.tokens;
    for (size_t u = 0; u < units.size(); ++u) {
        auto& v = r.scores[metricName("drop_loss", options.value)][units[u]];
        for (int64_t l = 0; l < L; ++l)
            v.push_back(dropped[u][static_cast<size_t>(l)].mean() - r.fullLoss);
    }
    r.forwardPasses = layersRun / static_cast<double>(L);
    r.naiveForwardPasses = static_cast<double>(total);
    return r;
} catch (const std::exception& e) {
    rethrowIfOutOfMemory(e, "computing drop-one losses");
    throw;
}

} // namespace layerlab
