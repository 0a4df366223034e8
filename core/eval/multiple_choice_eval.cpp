#include "eval/multiple_choice_eval.h"

#include "common/error.h"
#include "common/out_of_memory.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace layerlab {

namespace {

struct Request {
    size_t item, choice;
    std::vector<int64_t> ids; // context + continuation
    int64_t contextTokens;    // continuation starts here
};

// encode(context + " " + choice) and where its continuation starts (as the harness slices it).
TokenWindow choiceWindow(const Tokenizer& tokenizer, const std::vector<int64_t>& context,
                         const MultipleChoiceItem& item, size_t choice, const std::string& taskName) {
    auto whole = tokenizer.encode(item.context + " " + item.choices[choice], true);
    const int64_t start =
        std::min<int64_t>(static_cast<int64_t>(context.size()), static_cast<int64_t>(whole.size()) - 1);
    if (start < 1) throw Error("task '" + taskName + "' item " + item.id + ": nothing to score");
    return {std::move(whole), start};
}

double stderrOfMean(double p, int64_t n) {
    return n > 1 ? std::sqrt(p * (1 - p) / static_cast<double>(n - 1)) : 0;
}

} // namespace

MultipleChoiceResult evaluateMultipleChoice(const Model& model, const Tokenizer& tokenizer,
                                            const MultipleChoiceTask& task, const LayerMask& mask,
                                            const MultipleChoiceEvalOptions& options,
                                            const Progress& progress) try {
    if (task.items.empty()) throw Error("task '" + task.name + "' has no items");
    MultipleChoiceResult result;
    result.task = task.name;
    result.items = static_cast<int64_t>(task.items.size());
    result.scores.resize(task.items.size());

    std::vector<Request> requests;
    for (size_t i = 0; i < task.items.size(); ++i) {
        const auto& item = task.items[i];
        const auto context = tokenizer.encode(item.context, true);
        result.scores[i].resize(item.choices.size());
        for (size_t c = 0; c < item.choices.size(); ++c) {
            auto w = choiceWindow(tokenizer, context, item, c, task.name);
            result.scores[i][c].bytes = static_cast<int64_t>(1 + item.choices[c].size());
            requests.push_back({i, c, std::move(w.ids), w.contextTokens});
        }
    }

    // Longest first (as the harness does): batches of similar length waste little on padding,
    // and an out-of-memory error comes at once rather than at the end.
    std::stable_sort(requests.begin(), requests.end(),
                     [](const Request& a, const Request& b) { return a.ids.size() > b.ids.size(); });
    torch::InferenceMode inference;
    const auto start = std::chrono::steady_clock::now();
    const int64_t total = static_cast<int64_t>(requests.size());
    for (int64_t b = 0; b < total; b += options.batchSize) {
        progress.checkCancelled();
        const int64_t n = std::min(options.batchSize, total - b);
        int64_t longest = 0;
        for (int64_t r = 0; r < n; ++r)
            longest = std::max<int64_t>(
                longest, static_cast<int64_t>(requests[static_cast<size_t>(b + r)].ids.size()));
        // Right padding: with causal attention no real position ever sees a pad token.
        auto ids = torch::zeros({n, longest}, torch::kInt64);
        for (int64_t r = 0; r < n; ++r) {
            const auto& q = requests[static_cast<size_t>(b + r)].ids;
            std::copy(q.begin(), q.end(), ids[r].data_ptr<int64_t>());
            result.tokens += static_cast<int64_t>(q.size());
        }
        auto onDevice = ids.to(model.device());
        // log p(token t | before t) = logit - logsumexp at position t - 1; only [n, T - 1] leaves the device.
        auto logits = model.forward(onDevice, mask).narrow(1, 0, longest - 1).to(torch::kFloat32);
        auto chosen = logits.gather(-1, onDevice.narrow(1, 1, longest - 1).to(logits.device()).unsqueeze(-1))
                          .squeeze(-1);
        auto tokenLogp = (chosen - logits.logsumexp(-1)).to(torch::kCPU, torch::kFloat64).contiguous();
        logits = torch::Tensor();
        auto lp = tokenLogp.accessor<double, 2>();
        for (int64_t r = 0; r < n; ++r) {
            const auto& q = requests[static_cast<size_t>(b + r)];
            auto& score = result.scores[q.item][q.choice];
            double sum = 0;
            for (int64_t t = q.contextTokens; t < static_cast<int64_t>(q.ids.size()); ++t)
                sum += lp[r][t - 1];
            score.logLikelihood = sum;
            score.tokens = static_cast<int64_t>(q.ids.size()) - q.contextTokens;
        }
        progress.report("multiple choice: " + task.name, b + n, total, "continuations");
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.tokensPerSecond = result.seconds > 0 ? static_cast<double>(result.tokens) / result.seconds : 0;

    int64_t right = 0, rightNorm = 0;
    for (size_t i = 0; i < task.items.size(); ++i) {
        const auto& s = result.scores[i];
        size_t best = 0, bestNorm = 0;
        for (size_t c = 1; c < s.size(); ++c) {
            if (s[c].logLikelihood > s[best].logLikelihood) best = c;
            if (s[c].logLikelihood / static_cast<double>(s[c].bytes) >
                s[bestNorm].logLikelihood / static_cast<double>(s[bestNorm].bytes))
                bestNorm = c;
        }
        right += static_cast<int64_t>(best) == task.items[i].label;
        rightNorm += static_cast<int64_t>(bestNorm) == task.items[i].label;
    }
    result.acc = static_cast<double>(right) / static_cast<double>(result.items);
    result.accNorm = static_cast<double>(rightNorm) / static_cast<double>(result.items);
    result.accStderr = stderrOfMean(result.acc, result.items);
    result.accNormStderr = stderrOfMean(result.accNorm, result.items);
    return result;
} catch (const std::exception& e) {
    rethrowIfOutOfMemory(e, "scoring multiple-choice answers");
    throw;
}

std::vector<TokenWindow> answerWindows(const Tokenizer& tokenizer, const MultipleChoiceTask& task) {
    if (task.items.empty()) throw Error("task '" + task.name + "' has no items");
    std::vector<TokenWindow> windows;
    for (const auto& item : task.items)
        windows.push_back(choiceWindow(tokenizer, tokenizer.encode(item.context, true), item,
                                       static_cast<size_t>(item.label), task.name));
    return windows;
}

} // namespace layerlab
