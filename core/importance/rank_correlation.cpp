#include "importance/rank_correlation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace layerlab {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// 0-based ranks; tied values share their mean rank.
std::vector<double> ranks(const std::vector<double>& v) {
    std::vector<size_t> order(v.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
    std::vector<double> r(v.size());
    for (size_t i = 0; i < order.size();) {
        size_t j = i;
        while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]])
            ++j;
        for (size_t k = i; k <= j; ++k)
            r[order[k]] = 0.5 * static_cast<double>(i + j);
        i = j + 1;
    }
    return r;
}

bool usable(const std::vector<double>& a, const std::vector<double>& b) {
    if (a.size() != b.size() || a.size() < 2) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::isnan(a[i]) || std::isnan(b[i])) return false;
    return true;
}

} // namespace

double spearmanCorrelation(const std::vector<double>& a, const std::vector<double>& b) {
    if (!usable(a, b)) return kNaN;
    const auto ra = ranks(a), rb = ranks(b);
    const double n = static_cast<double>(a.size());
    const double ma = std::accumulate(ra.begin(), ra.end(), 0.0) / n,
                 mb = std::accumulate(rb.begin(), rb.end(), 0.0) / n;
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < ra.size(); ++i) {
        sab += (ra[i] - ma) * (rb[i] - mb);
        saa += (ra[i] - ma) * (ra[i] - ma);
        sbb += (rb[i] - mb) * (rb[i] - mb);
    }
    return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : kNaN;
}

double kendallTau(const std::vector<double>& a, const std::vector<double>& b) {
    if (!usable(a, b)) return kNaN;
    // Layers number in the hundreds at most: counting all pairs is fine.
    double concordant = 0, discordant = 0, tiedA = 0, tiedB = 0, pairs = 0;
    for (size_t i = 0; i < a.size(); ++i)
        for (size_t j = i + 1; j < a.size(); ++j) {
            const double da = a[j] - a[i], db = b[j] - b[i];
            pairs += 1;
            if (da == 0) tiedA += 1;
            if (db == 0) tiedB += 1;
            if (da == 0 || db == 0) continue;
            ((da > 0) == (db > 0) ? concordant : discordant) += 1;
        }
    const double denominator = std::sqrt((pairs - tiedA) * (pairs - tiedB));
    return denominator > 0 ? (concordant - discordant) / denominator : kNaN;
}

} // namespace layerlab
