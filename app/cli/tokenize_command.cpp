#include "commands.h"
#include "common/error.h"
#include "model_options.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <iostream>
#include <sstream>

namespace layerlab::cli {

// Prints the ids (and tokens) the model's tokenizer gives a text: for checking what the model
// actually sees. Needs only tokenizer.json, not the weights.
int runTokenize(const std::vector<std::string>& argv) {
    Arguments args(argv, {"model", "text", "file"}, {"no-special", "tokens", "json"});
    const auto dir = modelDir(args);
    std::string text;
    if (auto t = args.get("text"))
        text = *t;
    else if (auto f = args.get("file")) {
        std::ifstream in(*f, std::ios::binary);
        if (!in) throw Error(*f, "cannot open");
        std::stringstream ss;
        ss << in.rdbuf();
        text = ss.str();
    } else {
        throw UsageError("give --text T or --file F");
    }
    const auto tokenizer = Tokenizer::load(dir);
    const auto ids = tokenizer.encode(text, !args.flag("no-special"));
    if (args.flag("json")) {
        nlohmann::json j;
        j["input_ids"] = ids;
        if (args.flag("tokens")) {
            std::vector<std::string> tokens;
            for (auto id : ids)
                tokens.push_back(tokenizer.idToToken(id));
            j["tokens"] = tokens;
        }
        std::cout << j.dump() << "\n";
        return 0;
    }
    for (size_t i = 0; i < ids.size(); ++i) {
        std::cout << ids[i];
        if (args.flag("tokens")) std::cout << "\t" << nlohmann::json(tokenizer.idToToken(ids[i])).dump();
        std::cout << (args.flag("tokens") ? "\n" : (i + 1 < ids.size() ? " " : "\n"));
    }
    std::cerr << ids.size() << " tokens, " << text.size() << " bytes\n";
    return 0;
}

} // namespace layerlab::cli
