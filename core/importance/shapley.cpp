#include "importance/shapley.h"

#include "common/error.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>
#include <random>

namespace layerlab {

namespace {

// Block inputs of the current coalition's pass, the restart points of the next one.
class PrefixCache : public ResidualObserver {
public:
    explicit PrefixCache(std::vector<torch::Tensor>& inputs) : inputs_(inputs) {}
    bool wants(int64_t, ResidualPoint point) const override { return point == ResidualPoint::BlockInput; }
    void observe(int64_t layer, ResidualPoint, const torch::Tensor& hidden) override {
        inputs_[static_cast<size_t>(layer)] = hidden;
    }

private:
    std::vector<torch::Tensor>& inputs_;
};

class ModelGame : public CoalitionGame {
public:
    ModelGame(const Model& model, std::vector<ImportanceBatch> batches, Unit unit, ValueFunction value)
        : model_(model), batches_(std::move(batches)), unit_(unit) {
        // The distances need the full model's outputs: one pass per batch, kept for the game.
        for (const auto& b : batches_)
            scorers_.emplace_back(value, model_, b);
    }

    int64_t players() const override { return model_.numLayers(); }
    double forwardPasses() const override { return layersRun_ / static_cast<double>(model_.numLayers()); }

    std::vector<double> values(const std::vector<std::vector<bool>>& coalitions,
                               const Progress& progress) override {
        torch::InferenceMode inference;
        const int64_t L = model_.numLayers();
        std::vector<LossSum> losses(coalitions.size());
        for (size_t bi = 0; bi < batches_.size(); ++bi) {
            const auto& b = batches_[bi];
            auto ctx = model_.context(b.ids);
            std::vector<torch::Tensor> inputs(static_cast<size_t>(L));
            PrefixCache cache(inputs);
            inputs[0] = model_.embed(b.ids);
            const std::vector<bool>* previous = nullptr;
            LossSum previousLoss;
            for (size_t c = 0; c < coalitions.size(); ++c) {
                progress.checkCancelled();
                const auto& s = coalitions[c];
                // Layers before the first change see the same residual stream as last time.
                int64_t start = 0;
                if (previous) {
                    start = L;
                    for (int64_t l = 0; l < L; ++l)
                        if (s[static_cast<size_t>(l)] != (*previous)[static_cast<size_t>(l)]) {
                            start = l;
                            break;
                        }
                }
                if (start < L) {
                    LayerMask mask(L);
                    for (int64_t l = 0; l < L; ++l)
                        if (!s[static_cast<size_t>(l)]) mask.remove(unit_, l);
                    auto h =
                        model_.runLayers(inputs[static_cast<size_t>(start)], start, L, mask, ctx, &cache);
                    previousLoss = scorers_[bi](model_.logits(h));
                    layersRun_ += static_cast<double>(L - start);
                }
                losses[c] += previousLoss;
                previous = &s;
            }
        }
        std::vector<double> out;
        for (const auto& l : losses)
            out.push_back(-l.mean());
        return out;
    }

private:
    const Model& model_;
    std::vector<ImportanceBatch> batches_;
    Unit unit_;
    std::vector<BatchScorer> scorers_;
    double layersRun_ = 0;
};

std::vector<bool> coalitionOf(uint64_t m, int64_t n) {
    // Player 0 is the most significant bit: consecutive coalitions differ in late players, so
    // the model's game restarts late in the network.
    std::vector<bool> s(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        s[static_cast<size_t>(i)] = (m >> (n - 1 - i)) & 1u;
    return s;
}

void exact(CoalitionGame& game, ShapleyResult& r, const ShapleyOptions& options, const Progress& progress) {
    const int64_t n = game.players();
    const uint64_t count = uint64_t{1} << n;
    const auto v = coalitionValues(
        game, count, 64, [&](size_t k) { return coalitionOf(k, n); }, "shapley (exact)", "coalitions",
        progress);
    // weight(s) = s! (n - s - 1)! / n!
    std::vector<double> weight(static_cast<size_t>(n));
    for (int64_t s = 0; s < n; ++s)
        weight[static_cast<size_t>(s)] =
            std::exp(std::lgamma(s + 1.0) + std::lgamma(static_cast<double>(n - s)) - std::lgamma(n + 1.0));
    auto& phi = r.scores.scores[metricName("shapley", options.value)][options.unit];
    phi.assign(static_cast<size_t>(n), 0.0);
    for (uint64_t m = 0; m < count; ++m) {
        const int64_t size = std::popcount(m);
        for (int64_t i = 0; i < n; ++i) {
            const uint64_t bit = uint64_t{1} << (n - 1 - i);
            if (m & bit) continue;
            phi[static_cast<size_t>(i)] += weight[static_cast<size_t>(size)] * (v[m | bit] - v[m]);
        }
    }
    r.exact = true;
    r.coalitions = static_cast<int64_t>(count);
    r.valueNone = v.front();
    r.valueAll = v.back();
}

void monteCarlo(CoalitionGame& game, ShapleyResult& r, const ShapleyOptions& options,
                const Progress& progress) {
    const int64_t n = game.players();
    const auto ends = game.values(
        {std::vector<bool>(static_cast<size_t>(n), false), std::vector<bool>(static_cast<size_t>(n), true)},
        progress);
    r.valueNone = ends[0];
    r.valueAll = ends[1];
    r.coalitions = 2;
    std::mt19937_64 rng(options.seed);
    std::vector<double> mean(static_cast<size_t>(n), 0.0), m2(static_cast<size_t>(n), 0.0);
    std::vector<int64_t> order(static_cast<size_t>(n));
    int64_t pairs = 0;
    auto stdErr = [&](size_t i) {
        return pairs > 1 ? std::sqrt(m2[i] / static_cast<double>(pairs - 1) / pairs) : 0.0;
    };
    const int64_t maxPairs = std::max<int64_t>(options.maxPairs, 1);
    while (pairs < maxPairs) {
        progress.checkCancelled();
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        // The n - 1 proper, non-empty prefixes of the order, then of its reverse.
        std::vector<std::vector<bool>> chain;
        for (int dir = 0; dir < 2; ++dir) {
            std::vector<bool> s(static_cast<size_t>(n), false);
            for (int64_t k = 0; k + 1 < n; ++k) {
                s[static_cast<size_t>(order[static_cast<size_t>(dir ? n - 1 - k : k)])] = true;
                chain.push_back(s);
            }
        }
        const auto v = game.values(chain, progress);
        r.coalitions += static_cast<int64_t>(chain.size());
        std::vector<double> sample(static_cast<size_t>(n), 0.0);
        for (int dir = 0; dir < 2; ++dir) {
            double before = r.valueNone;
            for (int64_t k = 0; k < n; ++k) {
                const double after = k + 1 < n ? v[static_cast<size_t>(dir * (n - 1) + k)] : r.valueAll;
                sample[static_cast<size_t>(order[static_cast<size_t>(dir ? n - 1 - k : k)])] +=
                    0.5 * (after - before);
                before = after;
            }
        }
        ++pairs;
        double worst = 0;
        for (size_t i = 0; i < sample.size(); ++i) { // Welford: running mean and squared deviations
            const double d = sample[i] - mean[i];
            mean[i] += d / static_cast<double>(pairs);
            m2[i] += d * (sample[i] - mean[i]);
            worst = std::max(worst, stdErr(i));
        }
        progress.report("shapley (Monte Carlo)", pairs, maxPairs, "antithetic pairs");
        if (pairs < options.minPairs) continue;
        if (options.targetStdErr > 0 && worst <= options.targetStdErr) break;
        if (options.maxForwardPasses > 0 && game.forwardPasses() >= options.maxForwardPasses) break;
    }
    r.scores.scores[metricName("shapley", options.value)][options.unit] = mean;
    auto& se = r.scores.stdErr[metricName("shapley", options.value)][options.unit];
    for (size_t i = 0; i < mean.size(); ++i)
        se.push_back(stdErr(i));
    r.permutations = 2 * pairs;
}

} // namespace

std::vector<double> coalitionValues(CoalitionGame& game, size_t count, size_t chunk,
                                    const std::function<std::vector<bool>(size_t)>& coalition,
                                    const std::string& stage, const std::string& what,
                                    const Progress& progress) {
    std::vector<double> v;
    for (size_t m = 0; m < count; m += chunk) {
        std::vector<std::vector<bool>> sets;
        for (size_t k = m; k < std::min(count, m + chunk); ++k)
            sets.push_back(coalition(k));
        auto part = game.values(sets, progress);
        v.insert(v.end(), part.begin(), part.end());
        progress.report(stage, static_cast<int64_t>(v.size()), static_cast<int64_t>(count), what);
    }
    return v;
}

ShapleyResult shapleyValues(CoalitionGame& game, const ShapleyOptions& options, const Progress& progress) {
    const int64_t n = game.players();
    if (n < 1) throw Error("Shapley values need at least one player");
    ShapleyResult r;
    if (!options.forceMonteCarlo && n <= std::min<int64_t>(options.exactMaxPlayers, 30))
        exact(game, r, options, progress);
    else
        monteCarlo(game, r, options, progress);
    r.scores.fullLoss = -r.valueAll;
    r.scores.forwardPasses = game.forwardPasses();
    return r;
}

ModelCoalitionGame::ModelCoalitionGame(const Model& model, const std::vector<TokenWindow>& windows, Unit unit,
                                       const ImportanceOptions& options) {
    auto batches = makeImportanceBatches(model, windows, options.batchSize);
    batches_ = static_cast<double>(batches.size());
    for (const auto& b : batches)
        scoredTokens_ += b.targets.narrow(1, 1, b.targets.size(1) - 1).sum().item<int64_t>();
    game_ = std::make_unique<ModelGame>(model, std::move(batches), unit, options.value);
}

ModelCoalitionGame::~ModelCoalitionGame() = default;

int64_t ModelCoalitionGame::players() const {
    return game_->players();
}

std::vector<double> ModelCoalitionGame::values(const std::vector<std::vector<bool>>& coalitions,
                                               const Progress& progress) {
    return game_->values(coalitions, progress);
}

double ModelCoalitionGame::forwardPasses() const {
    return game_->forwardPasses();
}

ShapleyResult shapley(const Model& model, const std::vector<TokenWindow>& windows,
                      const ShapleyOptions& options, const Progress& progress) {
    return estimateOnModel(shapleyValues, &ShapleyResult::coalitions, "estimating Shapley values", model,
                           windows, options, progress);
}

} // namespace layerlab
