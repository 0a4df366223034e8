#include "atomic_file.h"
#include "commands.h"
#include "data_options.h"
#include "device.h"
#include "error.h"
#include "evaluation.h"
#include "model_options.h"
#include "safetensors.h"
#include "terminal_progress.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace layerlab::cli {

int runEval(const std::vector<std::string>& argv) {
    auto names = modelOptionNames();
    names.insert(dataOptionNames().begin(), dataOptionNames().end());
    names.insert({"remove", "batch-size", "save-logits", "json"});
    auto flags = dataFlagNames();
    flags.insert("quiet");
    Arguments args(argv, names, flags);
    TerminalProgress bar(!args.flag("quiet"));
    auto progress = bar.progress();

    auto model = loadModel(args, progress);
    const auto mask = LayerMask::parse(args.get("remove", ""), model->numLayers());
    const auto data = loadData(args, *model, progress);

    LossOptions options;
    options.batchSize = args.getInt("batch-size", 8);
    torch::Tensor allLogits;
    const auto logitsPath = args.get("save-logits");
    if (logitsPath) {
        const int64_t len = data.windows.front().size();
        for (const auto& w : data.windows)
            if (w.size() != len) throw Error("--save-logits needs sequences of equal length; use --seq-len");
        allLogits = torch::empty({static_cast<int64_t>(data.windows.size()), len, model->config().vocabSize},
                                 torch::kFloat32);
        options.onLogits = [&](const torch::Tensor& logits, const std::vector<size_t>& indices) {
            auto cpu = logits.to(torch::kCPU, torch::kFloat32);
            for (size_t r = 0; r < indices.size(); ++r)
                allLogits[static_cast<int64_t>(indices[r])].copy_(cpu[r]);
        };
    }
    const auto result = evaluateLoss(*model, data.windows, mask, options, progress);
    bar.finishLine();

    if (logitsPath) writeSafetensors(*logitsPath, {{"logits", allLogits}}, {{"removed", mask.toSpec()}});

    nlohmann::ordered_json j;
    j["model"] = model->dir().string();
    j["data"] = toJson(data.description);
    j["removed"] = mask.toSpec();
    nlohmann::json units = nlohmann::json::array();
    for (const auto& u : mask.removedUnits())
        units.push_back({{"unit", unitName(u.unit)}, {"layer", u.layer}});
    j["removed_units"] = units;
    j["loss"] = result.loss;
    j["perplexity"] = result.perplexity;
    j["tokens"] = result.tokens;
    j["sequences"] = result.sequences;
    j["device"] = model->device().str();
    j["dtype"] = dtypeName(model->dtype());
    j["elapsed_s"] = result.seconds;
    j["tokens_per_second"] = result.tokensPerSecond;
    if (auto out = args.get("json")) writeFileAtomically(*out, j.dump(2) + "\n");

    std::printf("loss %.6f  perplexity %.4f  (%lld predicted tokens in %lld sequences%s%s)\n", result.loss,
                result.perplexity, static_cast<long long>(result.tokens),
                static_cast<long long>(result.sequences), mask.empty() ? "" : ", removed ",
                mask.toSpec().c_str());
    std::printf("%.0f tokens/s on %s in %s\n", result.tokensPerSecond, model->device().str().c_str(),
                dtypeName(model->dtype()).c_str());
    return 0;
}

} // namespace layerlab::cli
