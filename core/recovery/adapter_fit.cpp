#include "recovery/adapter_fit.h"

#include "common/error.h"
#include "common/out_of_memory.h"
#include "importance/importance.h"

#include <algorithm>
#include <map>
#include <optional>

namespace layerlab {

namespace {

struct Statistics {
    double n = 0;
    torch::Tensor sumX, sumY, xtx, xty; // float64 on the model's device
};

// Accumulates X and Y of the requested units from the residual points of an unmasked pass.
class FitObserver : public ResidualObserver {
public:
    FitObserver(const Model& model, const std::vector<UnitRef>& units, bool needProducts)
        : model_(model), needProducts_(needProducts) {
        for (const auto& u : units)
            stats_[{static_cast<int>(u.unit), u.layer}];
    }

    bool wants(int64_t layer, ResidualPoint) const override {
        for (int u = 0; u < 3; ++u)
            if (stats_.count({u, layer})) return true;
        return false;
    }

    void observe(int64_t layer, ResidualPoint point, const torch::Tensor& h) override {
        switch (point) {
        case ResidualPoint::BlockInput:
            in_ = h;
            break;
        case ResidualPoint::AfterAttention:
            add(Unit::Attention, layer, in_, h);
            mid_ = h;
            break;
        case ResidualPoint::BlockOutput:
            add(Unit::Ffn, layer, mid_, h);
            add(Unit::Block, layer, in_, h);
            in_ = mid_ = torch::Tensor();
            break;
        }
    }

    std::map<std::pair<int, int64_t>, Statistics>& statistics() { return stats_; }

private:
    void add(Unit unit, int64_t layer, const torch::Tensor& before, const torch::Tensor& after) {
        auto it = stats_.find({static_cast<int>(unit), layer});
        if (it == stats_.end()) return;
        auto& s = it->second;
        const int64_t H = before.size(-1);
        auto y = (after - before).reshape({-1, H}).to(torch::kFloat32);
        auto x = model_.unitInput(unit, layer, before).reshape({-1, H}).to(torch::kFloat32);
        if (!s.sumY.defined()) {
            auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(x.device());
            s.sumX = torch::zeros({H}, opts);
            s.sumY = torch::zeros({H}, opts);
            if (needProducts_) {
                s.xtx = torch::zeros({H, H}, opts);
                s.xty = torch::zeros({H, H}, opts);
            }
        }
        s.n += static_cast<double>(x.size(0));
        s.sumX += x.sum(0).to(torch::kFloat64);
        s.sumY += y.sum(0).to(torch::kFloat64);
        if (needProducts_) {
            s.xtx += torch::matmul(x.t(), x).to(torch::kFloat64);
            s.xty += torch::matmul(x.t(), y).to(torch::kFloat64);
        }
    }

    const Model& model_;
    bool needProducts_;
    std::map<std::pair<int, int64_t>, Statistics> stats_;
    torch::Tensor in_, mid_;
};

} // namespace

Adapter fitFromStatistics(double n, const torch::Tensor& sumX, const torch::Tensor& sumY,
                          const torch::Tensor& xtx, const torch::Tensor& xty,
                          const AdapterFitOptions& options) {
    if (n < 1) throw Error("no calibration tokens to fit an adapter on");
    Adapter a;
    const auto meanY = sumY / n;
    if (options.method == AdapterMethod::Bias) {
        a.bias = meanY.to(torch::kFloat32);
        return a;
    }
    const int64_t H = sumX.size(0);
    if (options.rank < 1 || options.rank > H)
        throw Error("the rank must be between 1 and the hidden size (" + std::to_string(H) + ")");
    if (options.ridge < 0) throw Error("the ridge strength cannot be negative");
    const auto meanX = sumX / n;
    // Centred second moments: the intercept then comes out as meanY - meanX W.
    auto cxx = xtx - n * torch::outer(meanX, meanX);
    auto cxy = xty - n * torch::outer(meanX, meanY);
    const double lambda = options.ridge * cxx.diagonal().sum().item<double>() / static_cast<double>(H);
    auto eye = torch::eye(H, cxx.options());
    auto w = at::linalg_solve(cxx + (lambda > 0 ? lambda : 1e-12) * eye, cxy); // [H, H]
    // Reduced rank: the top right-singular vectors of the fitted (centred) values X W, from the
    // eigenvectors of W^T Cxx W.
    auto fitted = torch::matmul(w.t(), torch::matmul(cxx, w));
    fitted = 0.5 * (fitted + fitted.t());
    auto eig = at::linalg_eigh(fitted, "L");
    auto v = std::get<1>(eig).narrow(1, H - options.rank, options.rank); // largest eigenvalues last
    auto down = torch::matmul(w, v);                                     // [H, r]
    auto up = v.t().contiguous();                                        // [r, H]
    a.bias = (meanY - torch::matmul(meanX, torch::matmul(down, up))).to(torch::kFloat32);
    a.down = down.to(torch::kFloat32);
    a.up = up.to(torch::kFloat32);
    return a;
}

AdapterRestore::~AdapterRestore() {
    try {
        model_.setAdapters(saved_);
    } catch (...) {
    }
}

double calibrationLoss(const Model& model, const std::vector<ImportanceBatch>& batches, const LayerMask& mask,
                       const Progress& progress) {
    LossSum loss;
    for (const auto& b : batches) {
        progress.checkCancelled();
        loss += nextTokenLoss(model.forward(b.ids, mask), b.ids, b.targets);
    }
    return loss.mean();
}

GuardResult guardCandidates(size_t count, double none,
                            const std::function<double(const std::vector<size_t>&)>& lossWith) {
    std::vector<size_t> all(count);
    for (size_t i = 0; i < count; ++i)
        all[i] = i;
    GuardResult r{all, lossWith(all)};
    if (r.loss <= none) return r;
    // Each candidate on its own: keep the ones that help.
    std::vector<size_t> helpful;
    std::optional<std::pair<double, size_t>> bestSingle;
    for (size_t i = 0; i < count; ++i) {
        const double alone = count == 1 ? r.loss : lossWith({i});
        if (alone < none) helpful.push_back(i);
        if (!bestSingle || alone < bestSingle->first) bestSingle = std::make_pair(alone, i);
    }
    r.kept = helpful;
    r.loss = helpful.empty() ? none : lossWith(helpful);
    if (bestSingle && bestSingle->first < r.loss) r = {{bestSingle->second}, bestSingle->first};
    if (r.loss >= none) r = {{}, none};
    return r;
}

AdapterSet fitAdapters(Model& model, const std::vector<TokenWindow>& windows, const LayerMask& removed,
                       const AdapterFitOptions& options, const Progress& progress,
                       AdapterFitReport* report) try {
    std::vector<UnitRef> units;
    for (int64_t l = 0; l < model.numLayers(); ++l) {
        if (removed.isRemoved(Unit::Block, l))
            units.push_back({Unit::Block, l});
        else {
            if (removed.isRemoved(Unit::Attention, l)) units.push_back({Unit::Attention, l});
            if (removed.isRemoved(Unit::Ffn, l)) units.push_back({Unit::Ffn, l});
        }
    }
    if (units.empty()) throw Error("no unit is removed: nothing to fit an adapter for");
    if (options.method == AdapterMethod::LowRank &&
        (options.rank < 1 || options.rank > model.config().hiddenSize))
        throw Error("the rank must be between 1 and the hidden size (" +
                    std::to_string(model.config().hiddenSize) + ")");
    const auto batches = makeImportanceBatches(model, windows, options.batchSize);
    torch::InferenceMode inference;
    AdapterRestore restore(model);
    model.setAdapters({});
    FitObserver observer(model, units, options.method == AdapterMethod::LowRank);
    const LayerMask all(model.numLayers());
    for (size_t b = 0; b < batches.size(); ++b) {
        progress.checkCancelled();
        model.forward(batches[b].ids, all, &observer);
        progress.report("fitting adapters", static_cast<int64_t>(b + 1), static_cast<int64_t>(batches.size()),
                        "forward passes");
    }
    std::vector<Adapter> out;
    for (auto& [key, s] : observer.statistics()) {
        progress.checkCancelled();
        Adapter a = fitFromStatistics(s.n, s.sumX, s.sumY, s.xtx, s.xty, options);
        a.unit = static_cast<Unit>(key.first);
        a.layer = key.second;
        out.push_back(std::move(a));
    }
    if (!options.guard) return {out, {}};

    progress.report("checking adapters", 0, 1);
    const double none = calibrationLoss(model, batches, removed, progress);
    const auto guard = guardCandidates(out.size(), none, [&](const std::vector<size_t>& which) {
        std::vector<Adapter> set;
        for (size_t i : which)
            set.push_back(out[i]);
        model.setAdapters({set, {}});
        return calibrationLoss(model, batches, removed, progress);
    });
    std::vector<Adapter> kept;
    for (size_t i : guard.kept)
        kept.push_back(out[i]);
    if (report) {
        report->removedLoss = none;
        report->recoveredLoss = guard.loss;
        for (size_t i = 0; i < out.size(); ++i)
            if (std::find(guard.kept.begin(), guard.kept.end(), i) == guard.kept.end())
                report->dropped.push_back({out[i].unit, out[i].layer});
    }
    return {kept, {}};
} catch (const std::exception& e) {
    rethrowIfOutOfMemory(e, "fitting adapters");
    throw;
}

} // namespace layerlab
