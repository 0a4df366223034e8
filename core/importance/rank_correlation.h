#pragma once
// Rank correlations between two metrics' scores over the same units: do they order the layers
// alike? Both handle ties (mean ranks, tau-b) and return NaN when undefined (fewer than two
// values, different lengths, or one side constant).

#include <vector>

namespace layerlab {

double spearmanCorrelation(const std::vector<double>& a, const std::vector<double>& b);
double kendallTau(const std::vector<double>& a, const std::vector<double>& b); // tau-b

} // namespace layerlab
