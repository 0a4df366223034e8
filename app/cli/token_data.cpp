#include "token_data.h"

#include "error.h"

#include <nlohmann/json.hpp>

#include <fstream>

namespace layerlab::cli {

TokenData loadTokenData(const std::filesystem::path& file, const TokenDataOptions& options, int64_t vocabSize,
                        const Progress& progress) {
    std::ifstream in(file);
    if (!in) throw Error(file, "cannot open");
    TokenData data;
    std::string line;
    int64_t lineNo = 0;
    while (std::getline(in, line)) {
        ++lineNo;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        const std::string where = file.string() + ":" + std::to_string(lineNo);
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
            throw Error(where + ": not valid JSON (" + e.what() + ")");
        }
        if (!j.is_object() || !j.contains("input_ids") || !j["input_ids"].is_array())
            throw Error(where + ": expected an object with an \"input_ids\" array");
        std::vector<int64_t> ids;
        for (const auto& v : j["input_ids"]) {
            if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= vocabSize)
                throw Error(where + ": token id " + v.dump() + " is not in the vocabulary (0 to " +
                            std::to_string(vocabSize - 1) + ")");
            ids.push_back(v.get<int64_t>());
        }
        if (options.seqLen > 0 && static_cast<int64_t>(ids.size()) > options.seqLen)
            ids.resize(options.seqLen);
        data.sequences.push_back(std::move(ids));
        if (options.maxSequences > 0 && static_cast<int64_t>(data.sequences.size()) >= options.maxSequences)
            break;
    }
    if (data.sequences.empty()) throw Error(file, "no sequences in the file");
    progress.report("reading data", 1, 1);
    return data;
}

} // namespace layerlab::cli
