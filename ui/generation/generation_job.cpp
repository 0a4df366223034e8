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
    out.request = request;
    out.prompt = request.prompt;
    out.text = tokenizer->decode(r.tokens, true);
    out.tokens = static_cast<int64_t>(r.tokens.size());
    out.stopReason = r.stopReason;
    out.tokensPerSecond = r.tokensPerSecond;
    out.firstTokenSeconds = r.firstTokenSeconds;
    out.decodeSteps = r.decodeSteps;
    return out;
}

nlohmann::json generatedTextJson(const GeneratedText& r) {
    return {{"removed", r.mask.toSpec()},
            {"prompt", r.prompt},
            {"text", r.text},
            {"tokens", r.tokens},
            {"stop_reason", r.stopReason},
            {"max_new_tokens", r.request.maxNewTokens},
            {"temperature", r.request.temperature},
            {"top_p", r.request.topP},
            {"seed", r.request.seed},
            {"tokens_per_second", r.tokensPerSecond},
            {"first_token_s", r.firstTokenSeconds},
            {"decode_steps", r.decodeSteps}};
}

GeneratedText generatedTextFromJson(const nlohmann::json& j, int64_t numLayers, const std::string& source) {
    try {
        GeneratedText r;
        r.mask = LayerMask::parse(j.at("removed").get<std::string>(), numLayers);
        r.prompt = j.at("prompt").get<std::string>();
        r.text = j.at("text").get<std::string>();
        r.tokens = j.value("tokens", int64_t{0});
        r.stopReason = j.value("stop_reason", std::string());
        r.request.prompt = r.prompt;
        r.request.maxNewTokens = j.value("max_new_tokens", r.request.maxNewTokens);
        r.request.temperature = j.value("temperature", 0.0);
        r.request.topP = j.value("top_p", 1.0);
        r.request.seed = j.value("seed", uint64_t{0});
        r.tokensPerSecond = j.value("tokens_per_second", 0.0);
        r.firstTokenSeconds = j.value("first_token_s", 0.0);
        r.decodeSteps = j.value("decode_steps", std::string());
        return r;
    } catch (const nlohmann::json::exception& e) {
        throw Error(source, std::string("malformed generation sample (") + e.what() + ")");
    }
}

} // namespace layerlab::ui
