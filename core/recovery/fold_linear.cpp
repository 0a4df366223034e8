#include "recovery/fold_linear.h"

#include "common/error.h"
#include "common/out_of_memory.h"
#include "importance/importance.h"

#include <algorithm>
#include <map>

namespace layerlab {

namespace {

struct RunStatistics {
    int64_t last = 0; // the run's last removed block
    double n = 0;
    torch::Tensor ftf, ftt; // float64
    torch::Tensor base, f;  // of the current batch: h_mid + b and F at the block before the run
};

// Gathers F (block i - 1's FFN output without its bias) and T (the residual after block j minus
// h_mid + b) of every run from an unmasked pass.
class FoldObserver : public ResidualObserver {
public:
    FoldObserver(const Model& model, const std::vector<std::pair<int64_t, int64_t>>& runs) : model_(model) {
        for (const auto& [first, last] : runs)
            stats_[first - 1].last = last;
    }

    // The block before a run is seen after its attention (F comes from its FFN directly); the
    // run's last block at its output.
    bool wants(int64_t layer, ResidualPoint point) const override {
        if (point == ResidualPoint::AfterAttention) return stats_.count(layer) > 0;
        return point == ResidualPoint::BlockOutput && endsRun(layer);
    }

    void observe(int64_t layer, ResidualPoint point, const torch::Tensor& h) override {
        const int64_t H = h.size(-1);
        if (point == ResidualPoint::AfterAttention) {
            auto& s = stats_.at(layer);
            // F straight from the FFN, not as a difference of two rounded residuals: noise in the
            // regressor would bias the fit in bf16.
            const auto& b = model_.layer(layer).downBias;
            auto update = model_.ffnUpdate(layer, h);
            if (b.defined()) update = update - b.to(update.device(), update.scalar_type());
            s.f = update.reshape({-1, H}).to(torch::kFloat32);
            s.base = b.defined() ? h + b.to(h.device(), h.scalar_type()) : h;
            return;
        }
        for (auto& [before, s] : stats_) {
            if (s.last != layer) continue;
            auto t = (h - s.base.to(h.device())).reshape({-1, H}).to(torch::kFloat32);
            auto f = s.f.to(t.device());
            if (!s.ftf.defined()) {
                auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(t.device());
                s.ftf = torch::zeros({H, H}, opts);
                s.ftt = torch::zeros({H, H}, opts);
            }
            s.n += static_cast<double>(f.size(0));
            s.ftf += torch::matmul(f.t(), f).to(torch::kFloat64);
            s.ftt += torch::matmul(f.t(), t).to(torch::kFloat64);
            s.base = s.f = torch::Tensor();
        }
    }

    std::map<int64_t, RunStatistics>& statistics() { return stats_; }

private:
    bool endsRun(int64_t layer) const {
        for (const auto& [before, s] : stats_)
            if (s.last == layer) return true;
        return false;
    }

    const Model& model_;
    std::map<int64_t, RunStatistics> stats_; // keyed by the block before the run
};

} // namespace

std::vector<std::pair<int64_t, int64_t>> removedBlockRuns(const LayerMask& removed) {
    std::vector<std::pair<int64_t, int64_t>> runs;
    for (int64_t l = 0; l < removed.numLayers(); ++l) {
        const bool block = removed.isRemoved(Unit::Block, l);
        if (!block && (!removed.attentionOn(l) || !removed.ffnOn(l)))
            throw Error("fold-linear replaces runs of whole blocks, but layer " + std::to_string(l) +
                        " loses only its " + (removed.attentionOn(l) ? "FFN" : "attention") +
                        "; remove whole blocks (block:L) or use another method");
        if (!block) continue;
        if (!runs.empty() && runs.back().second == l - 1)
            runs.back().second = l;
        else
            runs.emplace_back(l, l);
    }
    if (runs.empty()) throw Error("no block is removed: fold-linear needs a run of removed blocks");
    if (runs.front().first == 0)
        throw Error("fold-linear folds its map into the FFN of the block before each run, and the run " +
                    std::string("starting at block 0 has none; keep block 0 or use another method"));
    return runs;
}

torch::Tensor foldLinearMap(double n, const torch::Tensor& ftf, const torch::Tensor& ftt, double ridge) {
    if (n < 1) throw Error("no calibration tokens to fit the map on");
    if (ridge < 0) throw Error("the ridge strength cannot be negative");
    const int64_t H = ftf.size(0);
    const double lambda = ridge * ftf.diagonal().sum().item<double>() / static_cast<double>(H);
    auto eye = torch::eye(H, ftf.options());
    return at::linalg_solve(ftf + (lambda > 0 ? lambda : 1e-12) * eye, ftt); // [H, H]
}

AdapterSet fitFoldLinear(Model& model, const std::vector<TokenWindow>& windows, const LayerMask& removed,
                         const FoldLinearOptions& options, const Progress& progress,
                         AdapterFitReport* report) try {
    const auto runs = removedBlockRuns(removed);
    for (const auto& [first, last] : runs)
        if (model.config().ffnKind.at(static_cast<size_t>(first - 1)) != SubLayerKind::Full)
            throw Error(model.dir(), "fold-linear folds its map into the FFN of block " +
                                         std::to_string(first - 1) +
                                         ", which this checkpoint does not have in full (no_op or "
                                         "replace_with_linear); choose another run or method");
    const auto batches = makeImportanceBatches(model, windows, options.batchSize);
    torch::InferenceMode inference;
    AdapterRestore restore(model);
    model.setAdapters({});
    FoldObserver observer(model, runs);
    const LayerMask all(model.numLayers());
    for (size_t b = 0; b < batches.size(); ++b) {
        progress.checkCancelled();
        model.forward(batches[b].ids, all, &observer);
        progress.report("fitting fold-linear maps", static_cast<int64_t>(b + 1),
                        static_cast<int64_t>(batches.size()), "forward passes");
    }
    std::vector<LoraAdapter> maps;
    for (auto& [before, s] : observer.statistics()) {
        progress.checkCancelled();
        const auto m = foldLinearMap(s.n, s.ftf, s.ftt, options.ridge).to(torch::kCPU, torch::kFloat32);
        LoraAdapter a;
        a.layer = before;
        a.projection = Projection::Down;
        // f M = f + (x W^T)(M - I): a LoRA correction of down_proj with down = W^T, up = M - I.
        a.down = model.layer(before).down.t().to(torch::kCPU, torch::kFloat32).contiguous();
        a.up = m - torch::eye(m.size(0), m.options());
        maps.push_back(std::move(a));
    }
    if (!options.guard) return {{}, maps};

    progress.report("checking the maps", 0, 1);
    const double none = calibrationLoss(model, batches, removed, progress);
    const auto guard = guardCandidates(maps.size(), none, [&](const std::vector<size_t>& which) {
        std::vector<LoraAdapter> set;
        for (size_t i : which)
            set.push_back(maps[i]);
        model.setAdapters({{}, set});
        return calibrationLoss(model, batches, removed, progress);
    });
    std::vector<LoraAdapter> kept;
    for (size_t i : guard.kept)
        kept.push_back(maps[i]);
    if (report) {
        report->removedLoss = none;
        report->recoveredLoss = guard.loss;
        for (size_t i = 0; i < maps.size(); ++i)
            if (std::find(guard.kept.begin(), guard.kept.end(), i) == guard.kept.end())
                report->dropped.push_back({Unit::Block, maps[i].layer + 1});
    }
    return {{}, kept};
} catch (const std::exception& e) {
    rethrowIfOutOfMemory(e, "fitting fold-linear maps");
    throw;
}

} // namespace layerlab
