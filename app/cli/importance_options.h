#pragma once
// The importance options `importance` and `sweep` share, turned into a core ImportanceRequest.

#include <set>
#include <string>
#include <vector>

#include "arguments.h"
#include "importance/importance_request.h"
#include "model/model.h"

namespace layerlab::cli {

std::vector<std::string> splitList(const std::string& s); // "a,b,,c" -> a, b, c
Unit parseUnit(const std::string& granularity);           // block, attn, ffn (UsageError otherwise)

// angular-n, shapley-*, value-function, subnetworks, subnetwork-fraction, subnetwork-samples,
// batch-size
const std::set<std::string>& importanceOptionNames();

// Everything but metrics and units, which each command reads its own way. --value-function
// task_loss:FILE reads the task and tokenizes its right answers with the model's tokenizer.
ImportanceRequest importanceRequest(const Arguments& args, const Model& model, const Progress& progress);

} // namespace layerlab::cli
