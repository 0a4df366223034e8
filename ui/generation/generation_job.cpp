#include "generation/generation_job.h"

#include "common/error.h"
#include "eval/generation.h"
#include "tokenizer/tokenizer.h"

namespace layerlab::ui {

GeneratedText runGeneration(const Model& model, const Tokenizer* tokenizer, const LayerMask& mask,
                            const GenerationRequest& request, const Progress& progress) {
    if (!tokenizer) throw Error(model.dir(), "has no tokenizer.json: cannot turn a prompt into tokens");
    if (request.prompt.empty()) throw Error("type a prompt first");
    GenerationOptions g;
    g.maxNewTokens = request.maxNewTokens;
    g.temperature = request.temperature;
    g.topP = request.topP;
    g.seed = request.seed;
    g.stopTokens = endOfSequenceTokens(model, *tokenizer);
    const auto ids = tokenizer->encode(request.prompt, true);
    const auto r = generate(model, ids, mask, g, progress);
    GeneratedText out;
    out.mask = mask;
    out.prompt = request.prompt;
    out.text = tokenizer->decode(r.tokens, true);
    out.tokens = static_cast<int64_t>(r.tokens.size());
    out.stopReason = r.stopReason;
    out.tokensPerSecond = r.tokensPerSecond;
    return out;
}

} // namespace layerlab::ui
