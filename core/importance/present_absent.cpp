#include "importance/present_absent.h"

#include "common/error.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace layerlab {

namespace {

std::vector<std::vector<bool>> subnetworks(int64_t n, const PresentAbsentOptions& o) {
    std::vector<std::vector<bool>> out;
    if (o.subnetworks == Subnetworks::LeaveOneOut) {
        out.emplace_back(static_cast<size_t>(n), true);
        for (int64_t i = 0; i < n; ++i) {
            out.emplace_back(static_cast<size_t>(n), true);
            out.back()[static_cast<size_t>(i)] = false;
        }
        return out;
    }
    if (!(o.fraction > 0 && o.fraction < 1)) throw Error("the sub-network fraction must be between 0 and 1");
    if (o.samples < 2) throw Error("the present/absent estimate needs at least 2 sub-networks");
    const auto keep = std::clamp<int64_t>(std::llround(o.fraction * static_cast<double>(n)), 1, n - 1);
    std::mt19937_64 rng(o.seed);
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t s = 0; s < o.samples; ++s) {
        std::iota(order.begin(), order.end(), 0);
        std::shuffle(order.begin(), order.end(), rng);
        std::vector<bool> present(static_cast<size_t>(n), false);
        for (int64_t k = 0; k < keep; ++k)
            present[static_cast<size_t>(order[static_cast<size_t>(k)])] = true;
        out.push_back(std::move(present));
    }
    return out;
}

} // namespace

PresentAbsentResult presentAbsent(CoalitionGame& game, const PresentAbsentOptions& options,
                                  const Progress& progress) {
    const int64_t n = game.players();
    if (n < 2) throw Error("the present/absent estimate needs at least 2 units");
    const auto sets = subnetworks(n, options);
    // Evaluated in lexicographic order so consecutive sub-networks share long prefixes of layers.
    std::vector<size_t> order(sets.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return sets[a] > sets[b]; });
    std::vector<std::vector<bool>> sorted;
    for (size_t i : order)
        sorted.push_back(sets[i]);
    const auto v = coalitionValues(
        game, sorted.size(), 8, [&](size_t k) { return sorted[k]; }, "present/absent", "sub-networks",
        progress);

    PresentAbsentResult r;
    r.subnetworks = static_cast<int64_t>(sets.size());
    const std::string name = metricName("present_absent", options.value);
    auto& score = r.scores.scores[name][options.unit];
    auto& se = r.scores.stdErr[name][options.unit];
    for (int64_t i = 0; i < n; ++i) {
        double sum[2] = {0, 0}, sq[2] = {0, 0};
        int64_t count[2] = {0, 0};
        for (size_t k = 0; k < sorted.size(); ++k) {
            const int side = sorted[k][static_cast<size_t>(i)] ? 1 : 0;
            sum[side] += v[k];
            sq[side] += v[k] * v[k];
            ++count[side];
        }
        if (count[0] == 0 || count[1] == 0)
            throw Error("unit " + std::to_string(i) + " is " + (count[1] ? "present in" : "absent from") +
                        " every sampled sub-network; sample more sub-networks");
        const double present = sum[1] / static_cast<double>(count[1]);
        const double absent = sum[0] / static_cast<double>(count[0]);
        score.push_back(present - absent);
        if (options.subnetworks == Subnetworks::Random) {
            auto varianceOfMean = [&](int side, double mean) {
                if (count[side] < 2) return 0.0;
                const double c = static_cast<double>(count[side]);
                return std::max(0.0, (sq[side] - c * mean * mean) / (c - 1)) / c;
            };
            se.push_back(std::sqrt(varianceOfMean(1, present) + varianceOfMean(0, absent)));
        }
    }
    if (se.empty()) r.scores.stdErr.erase(name);
    r.scores.forwardPasses = game.forwardPasses();
    return r;
}

PresentAbsentResult presentAbsent(const Model& model, const std::vector<TokenWindow>& windows,
                                  const PresentAbsentOptions& options, const Progress& progress) {
    return estimateOnModel<PresentAbsentResult, PresentAbsentOptions>(
        presentAbsent, &PresentAbsentResult::subnetworks, "estimating present/absent scores", model, windows,
        options, progress);
}

} // namespace layerlab
