#include "commands.h"
#include "common/error.h"
#include "data/multiple_choice_task.h"
#include "data_options.h"
#include "eval/evaluation.h"
#include "eval/generation.h"
#include "eval/multiple_choice_eval.h"
#include "export/pruning_cost.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "json_report.h"
#include "model/device.h"
#include "model_options.h"
#include "terminal_progress.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <iostream>
#include <optional>
#include <sstream>

namespace layerlab::cli {

int runEval(const std::vector<std::string>& argv) {
    auto names = modelOptionNames();
    names.insert(dataOptionNames().begin(), dataOptionNames().end());
    names.insert({"remove", "batch-size", "save-logits", "json", "tasks", "max-items", "generate",
                  "max-new-tokens", "temperature", "top-p", "log-samples", "generate-batch", "cuda-graphs"});
    auto flags = dataFlagNames();
    flags.insert("quiet");
    Arguments args(argv, names, flags);
    const auto samplesPath = args.get("log-samples");
    if (samplesPath && !args.get("tasks")) throw UsageError("--log-samples needs --tasks");
    TerminalProgress bar(!args.flag("quiet"));
    auto progress = bar.progress();

    auto model = loadModel(args, progress);
    const auto mask = LayerMask::parse(args.get("remove", ""), model->numLayers());
    // Perplexity on --data (or the demo's held-out text); with only --tasks or --generate, just those.
    const bool wantText = args.get("data") || (!args.get("tasks") && !args.get("generate"));
    std::optional<TokenData> data;
    std::optional<LossEvaluation> result;
    std::optional<TextPerplexity> text;
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
        if (data->description.text.bytes > 0) text = textPerplexity(*result, data->description.text);

        if (logitsPath) writeSafetensors(*logitsPath, {{"logits", allLogits}}, {{"removed", mask.toSpec()}});
    }

    nlohmann::ordered_json tasks = nlohmann::ordered_json::object();
    std::string samples; // one JSON line per item, as lm-eval's --log_samples keeps them
    if (const auto taskList = loadTasks(args, progress); !taskList.empty()) {
        const auto tokenizer = Tokenizer::load(model->dir());
        for (const auto& task : taskList) {
            const auto r = evaluateMultipleChoice(*model, tokenizer, task, mask,
                                                  {args.getInt("batch-size", 8)}, progress);
            for (size_t i = 0; samplesPath && i < task.items.size(); ++i) {
                nlohmann::ordered_json lls = nlohmann::ordered_json::array(), counts = lls, greedy = lls;
                for (const auto& c : r.scores[i]) {
                    lls.push_back(c.logLikelihood);
                    counts.push_back(c.tokens);
                    greedy.push_back(c.greedy);
                }
                samples += nlohmann::ordered_json({{"task", r.task},
                                                   {"id", task.items[i].id},
                                                   {"label", task.items[i].label},
                                                   {"log_likelihoods", lls},
                                                   {"continuation_tokens", counts},
                                                   {"is_greedy", greedy},
                                                   {"predicted", r.predicted[i]},
                                                   {"predicted_norm", r.predictedNorm[i]},
                                                   {"predicted_bytes", r.predictedBytes[i]}})
                               .dump() +
                           "\n";
            }
            tasks[r.task] = {{"acc", r.acc},
                             {"acc_norm", r.accNorm},
                             {"acc_bytes", r.accBytes},
                             {"exact_match", r.exactMatch},
                             {"acc_stderr", r.accStderr},
                             {"acc_norm_stderr", r.accNormStderr},
                             {"acc_bytes_stderr", r.accBytesStderr},
                             {"items", r.items},
                             {"tokens", r.tokens},
                             {"elapsed_s", r.seconds},
                             {"tokens_per_second", r.tokensPerSecond}};
        }
    }
    bar.finishLine();
    if (samplesPath) writeFileAtomically(*samplesPath, samples);

    nlohmann::ordered_json generation;
    if (auto prompt = args.get("generate")) {
        const auto tokenizer = Tokenizer::load(model->dir());
        GenerationOptions g;
        g.maxNewTokens = args.getInt("max-new-tokens", 64);
        g.temperature = args.getDouble("temperature", 0);
        g.topP = args.getDouble("top-p", 1.0);
        g.seed = static_cast<uint64_t>(args.getInt("seed", 0));
        g.stopTokens = endOfSequenceTokens(*model, tokenizer);
        const auto graphs = args.get("cuda-graphs", "on");
        if (graphs != "on" && graphs != "off")
            throw UsageError("--cuda-graphs: '" + graphs + "' is neither on nor off");
        if (graphs == "off") g.decodeSteps = DecodeSteps::Dynamic;
        const auto promptIds = tokenizer.encode(*prompt, true);
        // --generate-batch N: the prompt N times in one batch, for throughput; row 0 is shown.
        const int64_t copies = args.getInt("generate-batch", 1);
        if (copies < 1) throw UsageError("--generate-batch must be at least 1");
        const GenerationResult r =
            copies == 1
                ? generate(*model, promptIds, mask, g, progress)
                : generationRow(generateBatch(*model, std::vector<std::vector<int64_t>>(copies, promptIds),
                                              mask, g, progress),
                                0);
        bar.finishLine();
        generation = {{"prompt", *prompt},
                      {"text", tokenizer.decode(r.tokens, true)},
                      {"tokens", r.tokens},
                      {"stop_reason", r.stopReason},
                      {"temperature", g.temperature},
                      {"top_p", g.topP},
                      {"seed", g.seed},
                      {"batch", copies},
                      {"tokens_per_second", r.tokensPerSecond},
                      {"elapsed_s", r.seconds},
                      {"first_token_s", r.firstTokenSeconds},
                      {"decode_steps", r.decodeSteps}};
        if (!r.graphError.empty()) generation["cuda_graph_error"] = r.graphError;
    }

    nlohmann::ordered_json j;
    j["model"] = model->dir().string();
    j["removed"] = mask.toSpec();
    nlohmann::json units = nlohmann::json::array();
    for (const auto& u : mask.removedUnits())
        units.push_back({{"unit", unitName(u.unit)}, {"layer", u.layer}});
    j["removed_units"] = units;
    // What the removal set saves, as sessions keep it: reports put it beside the quality it costs.
    j["cost"] = pruningCostJson(pruningCost(model->config(), model->parameterCounts(), mask,
                                            static_cast<int64_t>(c10::elementSize(model->dtype()))));
    if (result) {
        j["data"] = toJson(data->description);
        j["loss"] = result->loss;
        j["perplexity"] = result->perplexity;
        if (text) {
            j["word_perplexity"] = text->wordPerplexity;
            j["byte_perplexity"] = text->bytePerplexity;
            j["bits_per_byte"] = text->bitsPerByte;
            j["text_coverage"] = text->coverage; // 1: every token of the text scored
        }
        j["tokens"] = result->tokens;
        j["sequences"] = result->sequences;
        j["elapsed_s"] = result->seconds;
        j["tokens_per_second"] = result->tokensPerSecond;
    }
    if (!tasks.empty()) j["tasks"] = tasks;
    if (!generation.empty()) j["generation"] = generation;
    j["device"] = model->deviceMap().describe();
    j["dtype"] = dtypeName(model->dtype());
    if (auto out = args.get("json")) writeJsonReport(*out, j, "eval", argv);

    const std::string removed = mask.empty() ? "" : ", removed " + mask.toSpec();
    if (result) {
        std::printf("loss %.6f  perplexity %.4f  (%lld predicted tokens in %lld sequences%s)\n", result->loss,
                    result->perplexity, static_cast<long long>(result->tokens),
                    static_cast<long long>(result->sequences), removed.c_str());
        if (text)
            std::printf("word perplexity %.4f  bits per byte %.6f%s\n", text->wordPerplexity,
                        text->bitsPerByte,
                        text->exact ? "" : "  (the scored tokens cover part of the text: estimated)");
        std::printf("%.0f tokens/s on %s in %s\n", result->tokensPerSecond,
                    model->deviceMap().describe().c_str(), dtypeName(model->dtype()).c_str());
    }
    for (const auto& [name, t] : tasks.items())
        std::printf("%s: acc %.4f +- %.4f  acc_norm %.4f +- %.4f  (%lld items%s)\n", name.c_str(),
                    t["acc"].get<double>(), t["acc_stderr"].get<double>(), t["acc_norm"].get<double>(),
                    t["acc_norm_stderr"].get<double>(), static_cast<long long>(t["items"].get<int64_t>()),
                    removed.c_str());
    if (!generation.empty())
        std::printf("%s%s\n[%s, %.1f tokens/s]\n", generation["prompt"].get<std::string>().c_str(),
                    generation["text"].get<std::string>().c_str(),
                    generation["stop_reason"].get<std::string>().c_str(),
                    generation["tokens_per_second"].get<double>());
    return 0;
}

} // namespace layerlab::cli
