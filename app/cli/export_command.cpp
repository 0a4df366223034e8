#include "commands.h"
#include "common/error.h"
#include "export/checkpoint_export.h"
#include "io/atomic_file.h"
#include "io/json_file.h"
#include "io/sha256.h"
#include "json_report.h"
#include "model/checkpoint.h"
#include "model/device.h"
#include "model_options.h"
#include "terminal_progress.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace layerlab::cli {

int runExport(const std::vector<std::string>& argv) {
    const std::set<std::string> names = {"model",       "remove",     "adapters",   "out",
                                         "format",      "dtype",      "shard-size", "importance",
                                         "eval-before", "eval-after", "json"};
    Arguments args(argv, names, {"force", "quiet", "no-hash"});
    TerminalProgress bar(!args.flag("quiet"));
    auto progress = bar.progress();

    const auto dir = modelDir(args);
    const auto ckpt = Checkpoint::open(dir);
    ExportRequest request;
    request.out = args.required("out");
    request.mask = LayerMask::parse(args.required("remove"), ckpt.config().numLayers);
    try {
        request.format = parseExportFormat(args.get("format", "auto"));
        request.shardBytes = parseByteSize(args.get("shard-size", "5GB"));
    } catch (const Error& e) {
        throw UsageError(e.what());
    }
    const std::string dtype = args.get("dtype", "keep");
    if (dtype != "keep") request.dtype = parseDtype(dtype);
    request.force = args.flag("force");
    request.hashSource = !args.flag("no-hash");

    // The manifest gets what the command line knows about how the removal set was chosen.
    auto& m = request.manifest;
    m["command"] = commandLine("export", argv);
    if (auto file = args.get("adapters")) {
        request.adapters = loadAdapters(*file, ckpt.config());
        m["adapters_file"] = {{"path", *file}, {"sha256", sha256File(*file)}};
    }
    auto attach = [&](const char* option, const char* key) {
        if (auto file = args.get(option))
            m[key] = {{"file", *file}, {"content", readJsonFile(*file, 256u << 20)}};
    };
    attach("importance", "importance");
    attach("eval-before", "evaluation_before");
    attach("eval-after", "evaluation_after");

    // Which runtimes will load the result is said before anything is written.
    ExportRequest preview = request;
    preview.planOnly = true;
    for (const auto& r : exportCheckpoint(dir, preview).runtimes)
        std::printf("loads in %s\n", describeRuntime(r).c_str());

    const auto result = exportCheckpoint(dir, request, progress);
    bar.finishLine();
    if (auto out = args.get("json")) {
        nlohmann::ordered_json j = result.manifest;
        j["out"] = result.out.string();
        writeFileAtomically(*out, j.dump(2) + "\n");
    }
    std::printf("exported %lld layers (%s, %s) to %s: %zu files, %.3f GB of weights\n",
                static_cast<long long>(result.numLayers), exportFormatName(result.format),
                request.mask.empty() ? "nothing removed" : request.mask.toSpec().c_str(),
                result.out.string().c_str(), result.files.size(),
                static_cast<double>(result.tensorBytes) / 1e9);
    for (const auto& note : result.notes)
        std::printf("note: %s\n", note.c_str());
    return 0;
}

} // namespace layerlab::cli
