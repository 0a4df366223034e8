#include "atomic_file.h"
#include "commands.h"
#include "data_options.h"
#include "device.h"
#include "error.h"
#include "evaluation.h"
#include "model_options.h"
#include "multiple_choice_eval.h"
#include "multiple_choice_task.h"
#include "safetensors.h"
#include "terminal_progress.h"
#include "tokenizer.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <optional>
#include <sstream>

namespace layerlab::cli {

int runEval(const std::vector<std::string>& argv) {
    auto names = modelOptionNames();
    names.insert(dataOptionNames().begin(), dataOptionNames().end());
    names.insert({"remove", "batch-size", "save-logits", "json", "tasks", "max-items"});
    auto flags = dataFlagNames();
    flags.insert("quiet");
    Arguments args(argv, names, flags);
    TerminalProgress bar(!args.flag("quiet"));
    auto progress = bar.progress();

    auto model = loadModel(args, progress);
    const auto mask = LayerMask::parse(args.get("remove", ""), model->numLayers());
    // Perplexity on --data (or the demo's held-out text); with only --tasks, just the tasks.
    const bool wantText = args.get("data") || !args.get("tasks");
    std::optional<TokenData> data;
    std::optional<LossEvaluation> result;
    if (wantText) {
        data = loadData(args, *model, progress);

        LossOptions options;
        options.batchSize = args.getInt("batch-size", 8);
        torch::Tensor allLogits;
        const auto logitsPath = args.get("save-logits");
        if (logitsPath) {
            const int64_t len = data->windows.front().size();
            for (const auto& w : data->windows)
                if (w.size() != len)
                    throw Error("--save-logits needs sequences of equal length; use --seq-len");
            allLogits =
                torch::empty({static_cast<int64_t>(data->windows.size()), len, model->config().vocabSize},
                             torch::kFloat32);
            options.onLogits = [&](const torch::Tensor& logits, const std::vector<size_t>& indices) {
                auto cpu = logits.to(torch::kCPU, torch::kFloat32);
                for (size_t r = 0; r < indices.size(); ++r)
                    allLogits[static_cast<int64_t>(indices[r])].copy_(cpu[r]);
            };
        }
        result = evaluateLoss(*model, data->windows, mask, options, progress);
        bar.finishLine();

        if (logitsPath) writeSafetensors(*logitsPath, {{"logits", allLogits}}, {{"removed", mask.toSpec()}});
    }

    nlohmann::ordered_json tasks = nlohmann::ordered_json::object();
    if (auto list = args.get("tasks")) {
        const auto tokenizer = Tokenizer::load(model->dir());
        MultipleChoiceOptions taskOptions;
        taskOptions.maxItems = args.getInt("max-items", 0);
        taskOptions.seed = static_cast<uint64_t>(args.getInt("seed", 0));
        std::stringstream files(*list);
        for (std::string file; std::getline(files, file, ',');) {
            const auto task = loadMultipleChoiceTask(file, taskOptions, progress);
            const auto r = evaluateMultipleChoice(*model, tokenizer, task, mask,
                                                  {args.getInt("batch-size", 8)}, progress);
            tasks[r.task] = {{"acc", r.acc},
                             {"acc_norm", r.accNorm},
                             {"acc_stderr", r.accStderr},
                             {"acc_norm_stderr", r.accNormStderr},
                             {"items", r.items}};
        }
    }
    bar.finishLine();

    nlohmann::ordered_json j;
    j["model"] = model->dir().string();
    j["removed"] = mask.toSpec();
    nlohmann::json units = nlohmann::json::array();
    for (const auto& u : mask.removedUnits())
        units.push_back({{"unit", unitName(u.unit)}, {"layer", u.layer}});
    j["removed_units"] = units;
    if (result) {
        j["data"] = toJson(data->description);
        j["loss"] = result->loss;
        j["perplexity"] = result->perplexity;
        j["tokens"] = result->tokens;
        j["sequences"] = result->sequences;
        j["elapsed_s"] = result->seconds;
        j["tokens_per_second"] = result->tokensPerSecond;
    }
    if (!tasks.empty()) j["tasks"] = tasks;
    j["device"] = model->device().str();
    j["dtype"] = dtypeName(model->dtype());
    if (auto out = args.get("json")) writeFileAtomically(*out, j.dump(2) + "\n");

    const std::string removed = mask.empty() ? "" : ", removed " + mask.toSpec();
    if (result) {
        std::printf("loss %.6f  perplexity %.4f  (%lld predicted tokens in %lld sequences%s)\n", result->loss,
                    result->perplexity, static_cast<long long>(result->tokens),
                    static_cast<long long>(result->sequences), removed.c_str());
        std::printf("%.0f tokens/s on %s in %s\n", result->tokensPerSecond, model->device().str().c_str(),
                    dtypeName(model->dtype()).c_str());
    }
    for (const auto& [name, t] : tasks.items())
        std::printf("%s: acc %.4f +- %.4f  acc_norm %.4f +- %.4f  (%lld items%s)\n", name.c_str(),
                    t["acc"].get<double>(), t["acc_stderr"].get<double>(), t["acc_norm"].get<double>(),
                    t["acc_norm_stderr"].get<double>(), static_cast<long long>(t["items"].get<int64_t>()),
                    removed.c_str());
    return 0;
}

} // namespace layerlab::cli
