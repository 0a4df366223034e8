#include "eval/multiple_choice_eval.h"

#include "common/attention_backend.h"
#include "common/error.h"
#include "common/out_of_memory.h"
#include "kernels/fused_ops.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <utility>

namespace layerlab {

namespace {

struct Request {
    size_t item, choice;
    std::vector<int64_t> ids; // context + continuation, left-truncated to the model's length + 1
    int64_t contextTokens;    // continuation starts here
};

// Python's str.isspace() for one code point (what str.rstrip() strips): the characters with
// bidirectional type WS, B or S, or category Zs (CPython's _PyUnicode_IsWhitespace).
bool isPythonWhitespace(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

// Length of `text` without its trailing Python whitespace (UTF-8, so code point by code point).
size_t rstripLength(std::string_view text) {
    size_t end = text.size();
    while (end > 0) {
        size_t start = end - 1;
        while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80)
            --start;
        const auto lead = static_cast<unsigned char>(text[start]);
        const size_t n = end - start;
        if (n > 4 || (n > 1 && (lead & 0xC0) != 0xC0)) break; // not UTF-8: not whitespace either
        char32_t c = n == 1 ? lead : lead & (0xFF >> (n + 1));
        for (size_t i = start + 1; i < end; ++i)
            c = (c << 6) | (static_cast<unsigned char>(text[i]) & 0x3F);
        if (!isPythonWhitespace(c)) break;
        end = start;
    }
    return end;
}

// lm-evaluation-harness v0.4.12 for a causal model: TemplateLM.loglikelihood and _encode_pair
// (lm_eval/api/model.py), HFLM.tok_encode, prefix_token_id and _loglikelihood_tokens
// (lm_eval/models/huggingface.py). The context's trailing whitespace moves to the continuation;
// the continuation's tokens are those encode(context + continuation) has beyond encode(context);
// an empty context is the prefix token (BOS, else EOS); a pair longer than the model is cut from
// the left so that maxLength tokens go in and every continuation token is scored.
TokenWindow choiceWindow(const Tokenizer& tokenizer, const MultipleChoiceItem& item, size_t choice,
                         int64_t maxLength, const std::string& taskName) {
    const auto where = [&] {
        return "task '" + taskName + "' item " + item.id + " choice " + std::to_string(choice);
    };
    std::string context = item.context;
    std::string continuation = " " + item.choices[choice];
    std::vector<int64_t> contextIds, continuationIds;
    const auto prefix = tokenizer.bosId() ? tokenizer.bosId() : tokenizer.eosId();
    if (context.empty()) {
        if (!prefix)
            throw Error(where() +
                        ": the context is empty and the tokenizer has neither a BOS nor an EOS token");
        continuationIds = tokenizer.encode(continuation, false);
        if (continuationIds.empty()) throw Error(where() + ": the continuation has no tokens");
        if (continuationIds.front() != *prefix) {
            contextIds = {*prefix};
        } else {
            contextIds = {continuationIds.front()};
            continuationIds.erase(continuationIds.begin());
        }
    } else {
        const size_t kept = rstripLength(context);
        continuation = context.substr(kept) + continuation;
        context.resize(kept);
        // tok_encode leaves the special tokens out when the text already starts with the prefix
        // token's text.
        const bool special = !(prefix && context.rfind(tokenizer.decode({*prefix}), 0) == 0);
        auto whole = tokenizer.encode(context + continuation, special);
        contextIds = tokenizer.encode(context, special);
        if (contextIds.size() < whole.size())
            continuationIds.assign(whole.begin() + static_cast<std::ptrdiff_t>(contextIds.size()),
                                   whole.end());
    }
    if (contextIds.empty() || continuationIds.empty())
        throw Error(where() + ": " + (contextIds.empty() ? "the context" : "the continuation") +
                    " has no tokens");
    if (static_cast<int64_t>(continuationIds.size()) > maxLength)
        throw Error(where() + ": the continuation has " + std::to_string(continuationIds.size()) +
                    " tokens, more than the " + std::to_string(maxLength) + " that fit in the model");
    TokenWindow w;
    w.ids = std::move(contextIds);
    w.ids.insert(w.ids.end(), continuationIds.begin(), continuationIds.end());
    const auto keep = static_cast<size_t>(maxLength + 1);
    if (w.ids.size() > keep) w.ids.erase(w.ids.begin(), w.ids.end() - static_cast<std::ptrdiff_t>(keep));
    w.contextTokens = static_cast<int64_t>(w.ids.size() - continuationIds.size());
    return w;
}

// Python's len() of a UTF-8 string: its code points.
int64_t codePoints(std::string_view text) {
    return std::count_if(text.begin(), text.end(),
                         [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

// numpy.argmax: the first NaN if there is one, else the first maximum.
size_t argmax(const std::vector<double>& values) {
    size_t best = 0;
    for (size_t i = 0; i < values.size(); ++i) {
        if (std::isnan(values[i])) return i;
        if (values[i] > values[best]) best = i;
    }
    return best;
}

int64_t maxLengthOf(const Model& model) {
    return model.config().maxPositionEmbeddings;
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
    if (options.batchSize < 1) throw Error("the batch size must be at least 1");
    MultipleChoiceResult result;
    result.task = task.name;
    result.items = static_cast<int64_t>(task.items.size());
    result.scores.resize(task.items.size());

    std::vector<Request> requests;
    for (size_t i = 0; i < task.items.size(); ++i) {
        const auto& item = task.items[i];
        result.scores[i].resize(item.choices.size());
        for (size_t c = 0; c < item.choices.size(); ++c) {
            auto w = choiceWindow(tokenizer, item, c, maxLengthOf(model), task.name);
            result.scores[i][c].characters = codePoints(item.choices[c]);
            result.scores[i][c].bytes = static_cast<int64_t>(item.choices[c].size());
            requests.push_back({i, c, std::move(w.ids), w.contextTokens});
        }
    }

    // Longest first (as the harness does): batches of similar length waste little on padding,
    // and an out-of-memory error comes at once rather than at the end.
    std::stable_sort(requests.begin(), requests.end(),
                     [](const Request& a, const Request& b) { return a.ids.size() > b.ids.size(); });
    const int64_t total = static_cast<int64_t>(requests.size());
    // Right padding: with causal attention no real position ever sees a pad token. The fed length
    // (the batch's longest - 1) is rounded up to the multiple, within the model's length.
    const int64_t multiple = options.lengthMultiple > 0 ? options.lengthMultiple
                             : model.device().is_cuda() ? 16
                                                        : 1;
    std::vector<int64_t> fed; // per batch
    std::set<std::pair<int64_t, int64_t>> shapes;
    int64_t fedTokens = 0;
    for (int64_t b = 0; b < total; b += options.batchSize) {
        const int64_t n = std::min(options.batchSize, total - b);
        int64_t longest = 0;
        for (int64_t r = 0; r < n; ++r)
            longest = std::max<int64_t>(
                longest, static_cast<int64_t>(requests[static_cast<size_t>(b + r)].ids.size()));
        fed.push_back(std::min(((longest - 1 + multiple - 1) / multiple) * multiple,
                               std::max(longest - 1, maxLengthOf(model))));
        shapes.insert({n, fed.back()});
        fedTokens += n * fed.back();
    }
    // Batches of many lengths: FlashAttention, which plans no shape (attention_backend.h).
    const AttentionKernelScope attention(attentionKernelFor(fedTokens, static_cast<int64_t>(shapes.size())),
                                         model.device().is_cuda());

    torch::InferenceMode inference;
    const auto start = std::chrono::steady_clock::now();
    for (int64_t b = 0; b < total; b += options.batchSize) {
        progress.checkCancelled();
        const int64_t n = std::min(options.batchSize, total - b);
        const int64_t longest = fed[static_cast<size_t>(b / options.batchSize)] + 1;
        auto ids = torch::zeros({n, longest}, torch::kInt64);
        for (int64_t r = 0; r < n; ++r) {
            const auto& q = requests[static_cast<size_t>(b + r)].ids;
            std::copy(q.begin(), q.end(), ids[r].data_ptr<int64_t>());
            result.tokens += static_cast<int64_t>(q.size()) - 1; // the last one is not fed
        }
        auto onDevice = ids.to(model.device());
        // log p(token t | before t) = logit - logsumexp at position t - 1; only [n, T - 1] leaves the
        // device. The last token is only predicted, never fed (as the harness does): at most the
        // model's length goes in, so dynamic RoPE scaling never starts.
        auto logits = model.forward(onDevice.narrow(1, 0, longest - 1), mask);
        const auto next = onDevice.narrow(1, 1, longest - 1).to(logits.device());
        // is_greedy (lm_eval/models/huggingface.py, _loglikelihood_tokens): the argmax at every
        // continuation position is the continuation's token.
        torch::Tensor tokenLogp, isArgmax;
        if (model.fusedKernels() && fused::available(logits)) {
            // The same in float32 by one kernel, without a float32 copy of the logits.
            tokenLogp = fused::tokenLogProbs(logits, next, &isArgmax);
        } else {
            logits = logits.to(torch::kFloat32);
            tokenLogp = logits.gather(-1, next.unsqueeze(-1)).squeeze(-1) - logits.logsumexp(-1);
            isArgmax = logits.argmax(-1).eq(next);
        }
        logits = torch::Tensor();
        tokenLogp = tokenLogp.to(torch::kCPU, torch::kFloat64).contiguous();
        isArgmax = isArgmax.to(torch::kCPU).contiguous();
        auto lp = tokenLogp.accessor<double, 2>();
        auto top = isArgmax.accessor<bool, 2>();
        for (int64_t r = 0; r < n; ++r) {
            const auto& q = requests[static_cast<size_t>(b + r)];
            auto& score = result.scores[q.item][q.choice];
            double sum = 0;
            bool greedy = true;
            for (int64_t t = q.contextTokens; t < static_cast<int64_t>(q.ids.size()); ++t) {
                sum += lp[r][t - 1];
                greedy = greedy && top[r][t - 1];
            }
            score.logLikelihood = sum;
            score.greedy = greedy;
            score.tokens = static_cast<int64_t>(q.ids.size()) - q.contextTokens;
        }
        progress.report("multiple choice: " + task.name, b + n, total, "continuations");
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.tokensPerSecond = result.seconds > 0 ? static_cast<double>(result.tokens) / result.seconds : 0;

    // ConfigurableTask.process_results for multiple_choice (lm_eval/api/task.py, v0.4.12):
    // pred = argmax(lls), pred_norm = argmax(lls / len(choice)), len in characters, without the
    // delimiter; pred_byte = argmax(lls / len(choice.encode("utf-8"))); exact_match =
    // is_greedy[gold].
    int64_t right = 0, rightNorm = 0, rightBytes = 0, exact = 0;
    for (size_t i = 0; i < task.items.size(); ++i) {
        std::vector<double> lls, perCharacter, perByte;
        for (const auto& score : result.scores[i]) {
            lls.push_back(score.logLikelihood);
            perCharacter.push_back(score.logLikelihood / static_cast<double>(score.characters));
            perByte.push_back(score.logLikelihood / static_cast<double>(score.bytes));
        }
        const int64_t gold = task.items[i].label;
        result.predicted.push_back(static_cast<int64_t>(argmax(lls)));
        result.predictedNorm.push_back(static_cast<int64_t>(argmax(perCharacter)));
        result.predictedBytes.push_back(static_cast<int64_t>(argmax(perByte)));
        right += result.predicted.back() == gold;
        rightNorm += result.predictedNorm.back() == gold;
        rightBytes += result.predictedBytes.back() == gold;
        exact += result.scores[i][static_cast<size_t>(gold)].greedy;
    }
    const auto n = static_cast<double>(result.items);
    result.acc = static_cast<double>(right) / n;
    result.accNorm = static_cast<double>(rightNorm) / n;
    result.accBytes = static_cast<double>(rightBytes) / n;
    result.exactMatch = static_cast<double>(exact) / n;
    result.accStderr = stderrOfMean(result.acc, result.items);
    result.accNormStderr = stderrOfMean(result.accNorm, result.items);
    result.accBytesStderr = stderrOfMean(result.accBytes, result.items);
    return result;
} catch (const std::exception& e) {
    rethrowIfOutOfMemory(e, "scoring multiple-choice answers");
    throw;
}

std::vector<TokenWindow> answerWindows(const Tokenizer& tokenizer, const MultipleChoiceTask& task,
                                       int64_t maxLength) {
    if (task.items.empty()) throw Error("task '" + task.name + "' has no items");
    std::vector<TokenWindow> windows;
    // The loss path feeds every token of a window, so at most maxLength of them.
    for (const auto& item : task.items)
        windows.push_back(
            choiceWindow(tokenizer, item, static_cast<size_t>(item.label), maxLength - 1, task.name));
    return windows;
}

} // namespace layerlab
