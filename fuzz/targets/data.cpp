// seeds: tests/data/cli/*.jsonl resources/demo/next_verse.jsonl resources/demo/heldout.txt
// seeds: tests/data/tokenizers/corpus.txt
// fuzz-options: -max_len=4096

// The data and task readers: the input read as a .txt and as a .jsonl token data file
// (loadTokenData) and as a multiple-choice task (loadMultipleChoiceTask). The first byte also
// picks the options (window length, stride, remainder, BOS, sampling, vocab size), and the text
// encoder maps each byte to one id.

#include "fuzz_target.h"

#include "data/dataset.h"
#include "data/multiple_choice_task.h"

#include <cstdlib>

LAYERLAB_FUZZ_TARGET(data) {
    using namespace layerlab;
    const auto o = static_cast<unsigned char>(input.empty() ? 0 : input[0]);
    TokenDataOptions options;
    options.windows.seqLen = (o & 7) * 3;
    options.windows.stride =
        (o >> 3 & 1) && options.windows.seqLen > 0 ? (options.windows.seqLen + 1) / 2 : 0;
    options.windows.keepRemainder = o >> 4 & 1;
    options.addBos = o >> 5 & 1;
    options.maxSequences = (o >> 6 & 1) ? 3 : 0;
    options.vocabSize = (o >> 7) ? 300 : 0;
    options.limits.maxFileBytes = 1 << 20;
    options.limits.maxLineBytes = 1 << 12;
    const TextEncoder encoder = [](std::string_view text, bool addBos) {
        std::vector<int64_t> ids;
        if (addBos) ids.push_back(256);
        for (const char c : text)
            ids.push_back(static_cast<unsigned char>(c));
        return ids;
    };
    for (const char* name : {"data.txt", "data.jsonl"}) {
        try {
            const TokenData d = loadTokenData(fuzz::writeTmpFile(name, input), encoder, options);
            for (const auto& w : d.windows) {
                // Invariants every caller relies on.
                if (options.windows.seqLen > 0 && w.size() > options.windows.seqLen) std::abort();
                if (w.contextTokens < 0 || w.contextTokens > w.size()) std::abort();
            }
        } catch (const Error&) {
        }
    }
    MultipleChoiceOptions mc;
    mc.maxItems = options.maxSequences;
    mc.limits = options.limits;
    const MultipleChoiceTask task = loadMultipleChoiceTask(fuzz::writeTmpFile("task.jsonl", input), mc);
    for (const auto& item : task.items)
        if (item.label < 0 || item.label >= static_cast<int64_t>(item.choices.size())) std::abort();
}
