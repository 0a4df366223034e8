// layerlab-cli: LayerLab's command-line front end (scripting, GPU servers, CI).

#include "arguments.h"
#include "commands.h"
#include "error.h"
#include "progress.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace {

const char* kUsage = R"(layerlab-cli: depth pruning of LLMs, from the command line.

usage: layerlab-cli COMMAND [options]

commands:
  info  --model DIR [--json]
        architecture, layer count, parameter counts, dtype and memory of a checkpoint
  eval  --model DIR --data FILE [--remove SPEC] [--seq-len N] [--batch-size B]
        [--max-sequences K] [--seed S] [--save-logits OUT.safetensors] [--json OUT.json]
        loss and perplexity, with units removed by SPEC

options shared by model commands:
  --device cpu|cuda|cuda:N   where to compute (default cpu)
  --dtype f32|bf16|f16       compute dtype (default f32)
  --quiet                    no progress bar

SPEC lists removed units with 0-based layer indices, e.g. block:3,attn:5-7,ffn:2
Ctrl-C stops a running command cleanly; a second Ctrl-C ends it at once.
)";

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        std::fputs(kUsage, args.empty() ? stderr : stdout);
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "--version") {
        std::printf("layerlab-cli %s\n", LAYERLAB_VERSION);
        return 0;
    }
    const std::string command = args[0];
    args.erase(args.begin());
    try {
        if (command == "info") return layerlab::cli::runInfo(args);
        if (command == "eval") return layerlab::cli::runEval(args);
        std::fprintf(stderr, "layerlab-cli: unknown command '%s'\n\n%s", command.c_str(), kUsage);
        return 2;
    } catch (const layerlab::Cancelled&) {
        std::fprintf(stderr, "\nlayerlab-cli: stopped\n");
        return 130;
    } catch (const layerlab::cli::UsageError& e) {
        std::fprintf(stderr, "layerlab-cli %s: %s\n", command.c_str(), e.what());
        return 2;
    } catch (const layerlab::Error& e) {
        std::fprintf(stderr, "\nlayerlab-cli: error: %s\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "\nlayerlab-cli: unexpected error: %s\n", e.what());
        return 1;
    }
}
