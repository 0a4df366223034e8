#pragma once
// Shapley values of the units of one granularity (blocks, attention sub-layers or FFN
// sub-layers): players are the L units, the other granularities stay on, and the value of a
// coalition S is minus the loss (or another value function) with only the units in S present.

#include <functional>
#include <memory>
#include <string>

#include "common/out_of_memory.h"
#include "importance/importance.h"

namespace layerlab {

struct ShapleyOptions : ImportanceOptions {
    Unit unit = Unit::Block;
    int64_t exactMaxPlayers = 12; // exact enumeration (2^n coalitions) up to this many players
    bool forceMonteCarlo = false;
    // Monte Carlo stopping rule: after minPairs antithetic pairs, stop as soon as every unit's
    // standard error is <= targetStdErr (0: not used), or the batch forward passes done reach
    // maxForwardPasses (0: no budget), or after maxPairs pairs.
    double targetStdErr = 0;
    double maxForwardPasses = 0;
    int64_t minPairs = 3;
    int64_t maxPairs = 200;
    uint64_t seed = 0;
};

// A cooperative game for the algorithms below. values() evaluates coalitions (true = the
// player is present) in the order given: the model's game restarts each one at the first layer
// where it differs from the one before, so orders sharing long prefixes are cheap.
class CoalitionGame {
public:
    virtual ~CoalitionGame() = default;
    virtual int64_t players() const = 0;
    virtual std::vector<double> values(const std::vector<std::vector<bool>>& coalitions,
                                       const Progress& progress) = 0;
    // Batch forward passes done so far (fractional for passes restarted mid-model).
    virtual double forwardPasses() const = 0;
};

// The values of `count` coalitions, the k-th made by coalition(k), asked of the game `chunk` at
// a time: between chunks, progress is reported (`stage`, counting `what`) and cancellation seen.
std::vector<double> coalitionValues(CoalitionGame& game, size_t count, size_t chunk,
                                    const std::function<std::vector<bool>(size_t)>& coalition,
                                    const std::string& stage, const std::string& what,
                                    const Progress& progress);

struct ShapleyResult {
    ImportanceScores scores; // "shapley" (and stdErr "shapley" for Monte Carlo) at options.unit
    bool exact = false;
    int64_t permutations = 0; // Monte Carlo: permutations used (pairs x 2)
    int64_t coalitions = 0;   // coalition values computed
    double valueAll = 0;      // v(all players) = -loss of the full model
    double valueNone = 0;     // v(no player)
};

// Exact when players <= exactMaxPlayers and not forced to Monte Carlo: phi_i = sum over S without
// i of |S|! (n - |S| - 1)! / n! (v(S + i) - v(S)). Otherwise permutation sampling with
// antithetic pairs (a random order and its reverse; one sample = the pair's mean marginal
// contribution). Either way the values sum to v(all) - v(none).
ShapleyResult shapleyValues(CoalitionGame& game, const ShapleyOptions& options,
                            const Progress& progress = {});

// The model's game: players are the units of one granularity, v(S) = minus the value function
// (options.value) with only the units in S present, over the given windows.
class ModelCoalitionGame : public CoalitionGame {
public:
    ModelCoalitionGame(const Model& model, const std::vector<TokenWindow>& windows, Unit unit,
                       const ImportanceOptions& options);
    ~ModelCoalitionGame() override;
    int64_t players() const override;
    std::vector<double> values(const std::vector<std::vector<bool>>& coalitions,
                               const Progress& progress) override;
    double forwardPasses() const override;
    double batches() const { return batches_; }
    int64_t scoredTokens() const { return scoredTokens_; }

private:
    std::unique_ptr<CoalitionGame> game_;
    double batches_ = 0;
    int64_t scoredTokens_ = 0;
};

// What shapley() and presentAbsent() do on a model: play `estimate` on the model's game of
// options.unit over the windows, then fill in the scores' scoredTokens and naiveForwardPasses
// (the coalitions it valued, result.*valued, x batches). Out of memory becomes an Error saying it
// happened while `task`.
template <typename Result, typename Options>
Result estimateOnModel(Result (*estimate)(CoalitionGame&, const Options&, const Progress&),
                       int64_t Result::*valued, const std::string& task, const Model& model,
                       const std::vector<TokenWindow>& windows, const Options& options,
                       const Progress& progress) try {
    ModelCoalitionGame game(model, windows, options.unit, options);
    auto r = estimate(game, options, progress);
    r.scores.scoredTokens = game.scoredTokens();
    r.scores.naiveForwardPasses = static_cast<double>(r.*valued) * game.batches();
    return r;
} catch (const std::exception& e) {
    rethrowIfOutOfMemory(e, task);
    throw;
}

// The model's game on the given windows (see above); naiveForwardPasses = coalitions x batches.
ShapleyResult shapley(const Model& model, const std::vector<TokenWindow>& windows,
                      const ShapleyOptions& options, const Progress& progress = {});

} // namespace layerlab
