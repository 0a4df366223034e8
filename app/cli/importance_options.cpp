#include "importance_options.h"

#include "data/multiple_choice_task.h"
#include "eval/multiple_choice_eval.h"
#include "tokenizer/tokenizer.h"

#include <sstream>

namespace layerlab::cli {

std::vector<std::string> splitList(const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    for (std::string item; std::getline(ss, item, ',');)
        if (!item.empty()) out.push_back(item);
    return out;
}

Unit parseUnit(const std::string& g) {
    if (g == "block") return Unit::Block;
    if (g == "attn") return Unit::Attention;
    if (g == "ffn") return Unit::Ffn;
    throw UsageError("unknown granularity '" + g + "' (use block, attn, ffn)");
}

const std::set<std::string>& importanceOptionNames() {
    static const std::set<std::string> names = {
        "angular-n",      "shapley-samples", "shapley-target-se",   "shapley-budget",     "shapley-estimator",
        "value-function", "subnetworks",     "subnetwork-fraction", "subnetwork-samples", "batch-size"};
    return names;
}

ImportanceRequest importanceRequest(const Arguments& args, const Model& model, const Progress& progress) {
    ImportanceRequest r;
    r.batchSize = args.getInt("batch-size", 8);
    r.angularN = args.getInt("angular-n", 1);

    const std::string value = args.get("value-function", "loss");
    if (value.rfind("task_loss", 0) == 0) {
        if (value.size() < 11 || value[9] != ':')
            throw UsageError("--value-function task_loss needs a task file: task_loss:FILE.jsonl");
        MultipleChoiceOptions taskOptions;
        taskOptions.maxItems = args.getInt("max-items", 0);
        taskOptions.seed = static_cast<uint64_t>(args.getInt("seed", 0));
        const auto task = loadMultipleChoiceTask(value.substr(10), taskOptions, progress);
        r.value = ValueFunction::TaskLoss;
        r.valueWindows =
            answerWindows(Tokenizer::load(model.dir()), task, model.config().maxPositionEmbeddings);
    } else {
        try {
            r.value = parseValueFunction(value);
        } catch (const Error& e) {
            throw UsageError(e.what());
        }
    }

    const std::string estimator = args.get("shapley-estimator", "permutation");
    if (estimator == "permutation")
        r.estimator = ShapleyEstimator::Permutation;
    else if (estimator == "present-absent")
        r.estimator = ShapleyEstimator::PresentAbsent;
    else if (estimator == "both")
        r.estimator = ShapleyEstimator::Both;
    else
        throw UsageError("unknown --shapley-estimator '" + estimator +
                         "' (permutation, present-absent, both)");

    r.shapley.targetStdErr = args.getDouble("shapley-target-se", 0);
    r.shapley.maxForwardPasses = args.getDouble("shapley-budget", 0);
    if (args.get("shapley-samples")) {
        r.shapley.maxPairs = std::max<int64_t>(1, args.getInt("shapley-samples", 0) / 2);
        r.shapley.minPairs = std::min(r.shapley.minPairs, r.shapley.maxPairs);
    }
    r.shapley.seed = static_cast<uint64_t>(args.getInt("seed", 0));

    const std::string subnetworks = args.get("subnetworks", "random");
    if (subnetworks == "random")
        r.presentAbsent.subnetworks = Subnetworks::Random;
    else if (subnetworks == "leave-one-out")
        r.presentAbsent.subnetworks = Subnetworks::LeaveOneOut;
    else
        throw UsageError("unknown --subnetworks '" + subnetworks + "' (random, leave-one-out)");
    r.presentAbsent.fraction = args.getDouble("subnetwork-fraction", 0.5);
    r.presentAbsent.samples = args.getInt("subnetwork-samples", 64);
    r.presentAbsent.seed = r.shapley.seed;
    return r;
}

} // namespace layerlab::cli
