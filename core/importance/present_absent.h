#pragma once
// The "present minus absent" importance estimate of the paper's reference code ("A deeper look
// at depth pruning of LLMs", arXiv 2407.16286): evaluate a set of sub-networks, then score each
// unit by the mean value of the sub-networks in which it is present minus the mean of those in
// which it is absent. Cheaper than permutation Shapley and not the same thing; LayerLab reports
// both so users can see where they disagree.

#include "importance/shapley.h"

namespace layerlab {

enum class Subnetworks {
    LeaveOneOut, // the full model and each unit removed alone (L + 1 sub-networks)
    Random,      // `samples` sub-networks, each keeping round(fraction x L) units chosen at random
};

struct PresentAbsentOptions : ImportanceOptions {
    Unit unit = Unit::Block;
    Subnetworks subnetworks = Subnetworks::Random;
    double fraction = 0.5;
    int64_t samples = 64;
    uint64_t seed = 0;
};

struct PresentAbsentResult {
    ImportanceScores scores; // "present_absent" (+ value suffix) at options.unit; stdErr for Random
    int64_t subnetworks = 0; // sub-networks evaluated
};

// Throws Error when a unit is never present or never absent in the sampled sub-networks.
PresentAbsentResult presentAbsent(CoalitionGame& game, const PresentAbsentOptions& options,
                                  const Progress& progress = {});
PresentAbsentResult presentAbsent(const Model& model, const std::vector<TokenWindow>& windows,
                                  const PresentAbsentOptions& options, const Progress& progress = {});

} // namespace layerlab
