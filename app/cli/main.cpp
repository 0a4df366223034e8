// layerlab-cli: LayerLab's command-line front end (scripting, GPU servers, CI).

#include "arguments.h"
#include "commands.h"
#include "common/attention_backend.h"
#include "common/error.h"
#include "common/gpu_allocator.h"
#include "common/host_allocator.h"
#include "common/progress.h"

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

namespace {

const char* kUsage = R"(layerlab-cli: depth pruning of LLMs, from the command line.

usage: layerlab-cli COMMAND [options]

commands:
  info      [--model DIR] [--data FILE] [--json]
            architecture, layer count, parameter counts, dtype and memory of a checkpoint
            (and, with --data, how many sequences and tokens the data gives)
  eval      [--model DIR] [--data FILE] [--tasks T1.jsonl,T2.jsonl] [--max-items N]
            [--generate PROMPT [--max-new-tokens N] [--temperature T] [--top-p P]
             [--generate-batch N] [--cuda-graphs on|off]]
            [--remove SPEC] [--batch-size B] [--save-logits OUT.safetensors] [--json OUT.json]
            [--log-samples OUT.jsonl]
            loss, perplexity, word perplexity and bits per byte, multiple-choice accuracy
            (lm-eval v0.4.12 rules: acc, acc_norm, acc_bytes, exact_match; --log-samples writes
            each item's scores) and a generated sample, with the units in SPEC removed
  importance [--model DIR] [--data FILE] [--metrics cosine,angular,drop_loss,taylor,shapley,...]
            [--granularity block,attn,ffn] [--angular-n N] [--value-function loss|logit_l2|kl|
            task_loss:TASK.jsonl] [--shapley-estimator permutation|present-absent|both]
            [--shapley-samples S | --shapley-target-se E] [--shapley-budget PASSES]
            [--subnetworks random|leave-one-out] [--subnetwork-fraction F] [--subnetwork-samples N]
            [--json OUT.json] [--csv OUT.csv]
            how much every block, attention and FFN matters (higher = more important); metrics:
            cosine, angular, l1_update, l2_update, rel_l1_update, rel_l2_update, drop_loss,
            taylor, shapley, present_absent
  sweep     [--model DIR] --metric M1,M2 [--granularity block|attn|ffn]
            [--steps 0,2,4,8 | --one-at-a-time [--max-removed N]] [--importance REPORT.json]
            [--data CALIBRATION] [--eval-data FILE] [--tasks T.jsonl,...] [--json OUT] [--csv OUT]
            quality against units removed: removes the k least important units by each metric
            (scores from REPORT.json or computed on the calibration data) and evaluates
  recover   [--model DIR] --remove SPEC [--method bias|lowrank:R|fold-linear|learned-bias|
            learned-lowrank:R|lora:R] [--ridge X] [--data CALIBRATION] [--eval-data FILE]
            [--tasks T.jsonl] [--save-adapters OUT.safetensors] [--json OUT]
            fits or trains adapters that stand in for the removed units (fold-linear: a map folded
            into the FFN before each removed run of blocks, exported as a plain checkpoint);
            reports quality before removal, after removal and after recovery
  export    [--model DIR] --remove SPEC --out DIR [--adapters FILE] [--format hf|nemotron-nas|zeroed]
            [--dtype keep|f32|bf16|f16] [--shard-size 5GB] [--force] [--importance REPORT.json]
            [--eval-before JSON] [--eval-after JSON] [--no-hash] [--json OUT]
            writes the pruned model as a checkpoint other tools load (adapters folded in) with a
            provenance manifest layerlab.json; the format defaults to hf when only whole blocks are
            removed and to nemotron-nas otherwise
  report    --out REPORT.html [--pdf REPORT.pdf] [--no-hash] INPUT...
            one self-contained HTML report (charts as SVG, tables, provenance) and a PDF of it,
            from JSON reports of importance, sweep, eval, recover and export, or one .layerlab
            session; the model's files are hashed (SHA-256) unless --no-hash (workbench builds)
  tokenize  [--model DIR] (--text T | --file F) [--no-special] [--tokens] [--json]
            the token ids the model's tokenizer gives a text

Without --model, commands use the bundled demo model (resources/demo) and its held-out text.

data options (FILE is .txt, or .jsonl with "text" or "input_ids" per line):
  --seq-len N          tokens per sequence (default 2048, or the model's context if shorter)
  --stride S           sliding windows S tokens apart; only new tokens are scored
  --keep-remainder     keep the last, shorter window
  --no-bos             do not add the BOS token to text
  --beyond-context     allow sequences longer than the model's max_position_embeddings
  --max-sequences K    a deterministic sample of K sequences (see --seed)
  --seed S             which sample (default 0)

options shared by model commands:
  --device cpu|cuda|cuda:N   where to compute (default cpu)
  --devices LIST|auto        spread the layers over several GPUs, e.g. cuda:0,cuda:1 (auto: all)
  --dtype f32|bf16|f16       compute dtype (default f32)
  --kernels fused|reference  on GPUs: fused paths (default), or transformers' arithmetic step by step
  --adapters FILE            adapters from recover --save-adapters, active for removed units
  --quiet                    no progress bar

SPEC lists removed units with 0-based layer indices, e.g. block:3,attn:5-7,ffn:2
Ctrl-C stops a running command cleanly; a second Ctrl-C ends it at once.
)";

} // namespace

int main(int argc, char** argv) {
    layerlab::configureHostMemory();
    layerlab::useExpandableGpuSegments();
    if (const auto warning = layerlab::chooseAttentionBackend(); !warning.empty())
        std::fprintf(stderr, "layerlab-cli: %s\n", warning.c_str());
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
        if (command == "tokenize") return layerlab::cli::runTokenize(args);
        if (command == "importance") return layerlab::cli::runImportance(args);
        if (command == "sweep") return layerlab::cli::runSweep(args);
        if (command == "recover") return layerlab::cli::runRecover(args);
        if (command == "export") return layerlab::cli::runExport(args);
        if (command == "report") {
#ifdef LAYERLAB_CLI_REPORT
            return layerlab::cli::runReport(args);
#else
            std::fprintf(stderr,
                         "layerlab-cli report: this build has no Qt (preset headless); reports are drawn "
                         "by the workbench's charts: build with LAYERLAB_GUI=ON\n");
            return 2;
#endif
        }
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
