#include "commands.h"
#include "data_options.h"
#include "model/device.h"
#include "model_options.h"
#include "terminal_progress.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace layerlab::cli {

namespace {
std::string human(double n) {
    const char* units[] = {"", "K", "M", "B", "T"};
    int u = 0;
    while (n >= 1000 && u < 4) {
        n /= 1000;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, u ? "%.2f%s" : "%.0f%s", n, units[u]);
    return buf;
}
} // namespace

int runInfo(const std::vector<std::string>& argv) {
    auto names = modelOptionNames();
    names.insert(dataOptionNames().begin(), dataOptionNames().end());
    auto flags = dataFlagNames();
    flags.insert({"json", "quiet"});
    Arguments args(argv, names, flags);
    TerminalProgress bar(!args.flag("quiet") && !args.flag("json"));
    auto model = loadModel(args, bar.progress());
    bar.finishLine();
    const auto& c = model->config();
    const auto p = model->parameterCounts();
    nlohmann::ordered_json j;
    j["model"] = model->dir().string();
    j["architecture"] = architectureName(c.architecture);
    j["num_layers"] = c.numLayers;
    j["hidden_size"] = c.hiddenSize;
    j["intermediate_size"] = c.intermediateSize;
    j["num_attention_heads"] = c.numHeads;
    j["num_key_value_heads"] = c.numKvHeads;
    j["head_dim"] = c.headDim;
    j["vocab_size"] = c.vocabSize;
    j["rope"] = {{"type", ropeTypeName(c.rope.type)}, {"theta", c.rope.theta}, {"factor", c.rope.factor}};
    j["tie_word_embeddings"] = c.tieWordEmbeddings;
    j["stored_dtype"] = c.dtype;
    j["compute_dtype"] = dtypeName(model->dtype());
    j["device"] = model->deviceMap().describe();
    j["parameters"] = {{"total", p.total},          {"embedding", p.embedding}, {"lm_head", p.lmHead},
                       {"final_norm", p.finalNorm}, {"attention", p.attention}, {"ffn", p.ffn}};
    std::vector<int64_t> blocks;
    for (int64_t l = 0; l < c.numLayers; ++l)
        blocks.push_back(p.block(l));
    j["parameters"]["block"] = blocks;
    j["weight_bytes"] = model->weightBytes();
    // KV cache per token: K and V for every layer in the compute dtype.
    j["kv_cache_bytes_per_token"] =
        2 * c.numLayers * c.kvDim() * static_cast<int64_t>(c10::elementSize(model->dtype()));
    j["unused_tensors"] = model->unusedTensors();
    if (args.get("data")) j["data"] = toJson(loadData(args, *model, bar.progress()).description);

    if (args.flag("json")) {
        std::cout << j.dump(2) << "\n";
        return 0;
    }
    std::cout << "model         " << model->dir().string() << "\n"
              << "architecture  " << architectureName(c.architecture) << ", " << c.numLayers
              << " layers, hidden " << c.hiddenSize << ", FFN " << c.intermediateSize << "\n"
              << "attention     " << c.numHeads << " heads x " << c.headDim << ", " << c.numKvHeads
              << " KV heads" << (c.numKvHeads != c.numHeads ? " (GQA)" : "") << ", RoPE "
              << ropeTypeName(c.rope.type) << " theta " << c.rope.theta << "\n"
              << "vocabulary    " << c.vocabSize << (c.tieWordEmbeddings ? " (tied embeddings)" : "") << "\n"
              << "parameters    " << human(double(p.total)) << " total: embedding "
              << human(double(p.embedding)) << ", LM head " << human(double(p.lmHead)) << "\n"
              << "per layer     block " << human(double(p.block(0))) << " = attention "
              << human(double(p.attention[0])) << " + FFN " << human(double(p.ffn[0])) << "\n"
              << "dtype         stored " << (c.dtype.empty() ? "?" : c.dtype) << ", computing in "
              << dtypeName(model->dtype()) << " on " << model->deviceMap().describe() << "\n"
              << "memory        " << human(double(model->weightBytes())) << "B of weights, "
              << human(double(j["kv_cache_bytes_per_token"].get<int64_t>())) << "B KV cache per token\n";
    if (j.contains("data"))
        std::cout << "data          " << j["data"]["file"].get<std::string>() << ": "
                  << j["data"]["sequences"] << " sequences, " << j["data"]["tokens"] << " tokens ("
                  << j["data"]["scored_tokens"] << " scored)\n";
    return 0;
}

} // namespace layerlab::cli
