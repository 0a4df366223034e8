#!/usr/bin/env bash
# LayerLab against Hugging Face transformers (SDPA), side by side in one call on one GPU: a random
# Llama-2-7B-shaped checkpoint in bf16, the same tokens for both, each part run for LayerLab and
# then for transformers (bench/side_by_side_transformers.py), each engine in its own process:
#   eval_single_pass   `eval --data` as a user runs it          vs one cold pass, batch 8
#   eval_warm_pass     bench_eval's second perplexity pass      vs the second pass in one process
#   multiple_choice    `eval --tasks` (one cold pass), batch 16 vs bench_eval_transformers' first pass
#                      (multiple_choice_warm: bench_eval's second pass vs its second pass)
#   cosine_importance  `importance --metrics cosine`, block/attn/ffn, vs hooks + output_hidden_states
#   drop_one_blocks    `importance --metrics drop_loss`, blocks  vs the loss with each block left out
#   decode_batch1/16   `eval --generate` (--generate-batch 16), 128 new tokens, cold   vs greedy generate, cold
#   decode_warm_batch1/16  bench_generate's third pass (CUDA graphs; the dynamic steps' too)
#                      vs generate's second call in one process
#   drop_one_kl        LayerLab alone: drop-one under --value-function kl and logit_l2 (not in the
#                      default PARTS)
#   decode_memory      LayerLab alone: batch-1 decoding's peak memory with CUDA graphs or dynamic
#                      steps, with and without the GPU warm-up (not in the default PARTS)
# Per part and engine: seconds (computation only, each engine's own timer), tokens/s or blocks/s,
# the process's wall time, and its peak GPU memory (nvidia-smi every 50 ms, minus the idle value).
# On a GPU machine, from the repository root, after tools/device_build.sh:
#   BUILD=build-device CKPT=/tmp/llama7b bench/run_side_by_side.sh [OUT.jsonl]
# One JSON line per (part, engine) goes to OUT.jsonl (default /tmp/side_by_side.jsonl), then a
# Markdown table (bench/side_by_side_ratios.py). PARTS="cosine_importance decode" runs only those
# parts and appends to OUT (the table keeps the last line of each part and engine).
set -euo pipefail
build=${BUILD:-build-device}
ckpt=${CKPT:-/tmp/llama7b}
out=${1:-/tmp/side_by_side.jsonl}
parts=${PARTS:-eval_single_pass eval_warm_pass multiple_choice cosine_importance drop_one_blocks decode}
prompt=${PROMPT:-The history of the printing press begins in}
data=/tmp/random_64x2048.jsonl
task=/tmp/next_verse_bench.jsonl
tokens=$((64 * 2048))
work=/tmp/side_by_side  # each command's output, kept for a look afterwards
cli="$build/app/layerlab-cli"

source bench/bench_setup.sh
bench_setup "$ckpt" "$data" 64 "$task" 400
mkdir -p "$work"
trap 'kill $(jobs -p) 2>/dev/null || true' EXIT  # a sampler left by an interrupted run
[ -n "${PARTS:-}" ] || : > "$out"

smi=(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i "${GPU_INDEX:-0}")
idle=$("${smi[@]}")
# LayerLab's programs with the environment tools/device_build.sh wrote for them; transformers' side.
ll() { ( [ -f "$build/device-env.sh" ] && source "$build/device-env.sh"; exec "$@" ); }
tf() { python3 bench/side_by_side_transformers.py --model "$ckpt" "$@"; }

# measure NAME CMD...: runs CMD (stdout to $work/NAME.out) while nvidia-smi samples the GPU's
# memory; sets wall (seconds, the whole process) and peak (MiB above idle).
measure() {
  local name=$1 rc=0 t0 t1 sampler
  shift
  "${smi[@]}" -lms 50 > "$work/$name.smi" &  # nvidia-smi itself, so that $! is the one to stop
  sampler=$!
  t0=$(date +%s.%N)
  "$@" > "$work/$name.out" || rc=$?
  t1=$(date +%s.%N)
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  [ "$rc" = 0 ] || { echo "failed ($rc): $*" >&2; exit "$rc"; }
  wall=$(python3 -c "print(round($t1 - $t0, 3))")
  peak=$(( $(sort -n "$work/$name.smi" | tail -n 1) - idle ))
}

# emit PART ENGINE FILE EXPR [REF]: appends one JSON line to $out and echoes it. EXPR is a Python
# dict expression over j (FILE as JSON, or the last JSON line in it), rows (all its JSON lines),
# t (j's first task), g (j's generation), ref (REF as JSON) and diff (max |a - b| of two score sets).
emit() {
  python3 - "$wall" "$peak" "$@" <<'EOF' | tee -a "$out"
import json, sys
wall, peak, part, engine, path, expr = sys.argv[1:7]
text = open(path).read()
try:
    rows = [json.loads(text)]
except ValueError:
    rows = [json.loads(l) for l in text.splitlines() if l.startswith("{")]
j = rows[-1]
t = next(iter(j.get("tasks", {}).values()), None)
g = j.get("generation")
ref = json.load(open(sys.argv[7])) if len(sys.argv) > 7 else None
diff = lambda a, b: max(abs(x - y) for u in a for x, y in zip(a[u], b[u]))
def passes(name):  # bench_eval's two passes of one part: the second, with the first's time
    first, warm = [r for r in rows if r.get("part") == name]
    return {**{k: v for k, v in warm.items() if k not in ("engine", "part", "pass")}, "first_s": first["seconds"]}
d = {k: v for k, v in eval(expr).items() if k not in ("engine", "part", "scores")}
print(json.dumps({"part": part, "engine": engine, **d, "wall_s": float(wall), "peak_gpu_mib": int(peak)}))
EOF
}

for part in $parts; do
  case $part in
  eval_single_pass)
    measure ll_eval ll "$cli" eval --model "$ckpt" --data "$data" --seq-len 0 --device cuda --dtype bf16 \
      --batch-size 8 --quiet --json "$work/ll_eval.json"
    emit eval_single_pass layerlab "$work/ll_eval.json" \
      "dict(seconds=j['elapsed_s'], tokens_per_s=j['tokens_per_second'], loss=j['loss'])"
    measure tf_eval tf --part eval_single_pass --data "$data" --batch 8
    emit eval_single_pass transformers-sdpa "$work/tf_eval.out" "j" ;;
  eval_warm_pass)
    # One process for both parts: its peak memory and wall time count for both rows.
    measure ll_warm ll "$build/bench/bench_eval" "$ckpt" "$data" "$task" --device cuda --dtype bf16 --batch 8 \
      --mc-batch 16
    emit eval_warm_pass layerlab "$work/ll_warm.out" "passes('perplexity')"
    emit multiple_choice_warm layerlab "$work/ll_warm.out" "passes('multiple_choice')"
    measure tf_warm tf --part eval_warm_pass --data "$data" --batch 8
    emit eval_warm_pass transformers-sdpa "$work/tf_warm.out" "j" ;;
  multiple_choice)
    measure ll_mc ll "$cli" eval --model "$ckpt" --tasks "$task" --device cuda --dtype bf16 --batch-size 16 \
      --quiet --json "$work/ll_mc.json"
    emit multiple_choice layerlab "$work/ll_mc.json" \
      "dict(seconds=t['elapsed_s'], tokens_per_s=t['tokens_per_second'], tokens=t['tokens'], acc=t['acc'])"
    measure tf_mc tf --part multiple_choice --tasks "$task" --batch 16
    emit multiple_choice transformers-sdpa "$work/tf_mc.out" "j"
    # Its second pass, from the same process (peak and wall time: that process's).
    emit multiple_choice_warm transformers-sdpa "$work/tf_mc.out" \
      "dict(seconds=j['warm_s'], tokens_per_s=j['warm_tokens_per_s'], first_s=j['seconds'], acc=j['acc'])" ;;
  cosine_importance)
    measure ll_cos ll "$cli" importance --model "$ckpt" --data "$data" --seq-len 0 --device cuda --dtype bf16 \
      --batch-size 8 --quiet --metrics cosine --granularity block,attn,ffn --json "$work/ll_cos.json"
    emit cosine_importance layerlab "$work/ll_cos.json" \
      "dict(seconds=j['elapsed_s'], tokens_per_s=$tokens / j['elapsed_s'], loss=j['base_loss'])"
    measure tf_cos tf --part cosine_importance --data "$data" --batch 8
    emit cosine_importance transformers-sdpa "$work/tf_cos.out" \
      "dict(j, scores_max_abs_diff=diff(j['scores'], ref['scores']['cosine']))" "$work/ll_cos.json" ;;
  drop_one_blocks)
    measure ll_drop ll "$cli" importance --model "$ckpt" --data "$data" --seq-len 0 --device cuda --dtype bf16 \
      --batch-size 8 --quiet --metrics drop_loss --granularity block --json "$work/ll_drop.json"
    emit drop_one_blocks layerlab "$work/ll_drop.json" \
      "dict(seconds=j['elapsed_s'], blocks=j['num_layers'], blocks_per_s=j['num_layers'] / j['elapsed_s'],
            loss=j['base_loss'], forward_passes=j['settings']['drop_loss']['forward_passes'])"
    measure tf_drop tf --part drop_one_blocks --data "$data" --batch 8
    emit drop_one_blocks transformers-sdpa "$work/tf_drop.out" \
      "dict(j, scores_max_abs_diff=diff(j['scores'], ref['scores']['drop_loss']))" "$work/ll_drop.json" ;;
  drop_one_kl)
    # LayerLab alone: drop-one under KL(p_full || p) and under the logit L2 distance, whose float32
    # logits go a chunk of positions at a time (compare the peak with drop_one_blocks').
    for value in kl logit_l2; do
      measure ll_drop_$value ll "$cli" importance --model "$ckpt" --data "$data" --seq-len 0 --device cuda \
        --dtype bf16 --batch-size 8 --quiet --metrics drop_loss --value-function $value --granularity block \
        --json "$work/ll_drop_$value.json"
      emit drop_one_$value layerlab "$work/ll_drop_$value.json" \
        "dict(seconds=j['elapsed_s'], blocks=j['num_layers'], blocks_per_s=j['num_layers'] / j['elapsed_s'])"
    done ;;
  decode)
    # As a user runs it: one CLI call, cold; then bench_generate's warm passes in one process.
    for b in 1 16; do
      measure ll_dec$b ll "$cli" eval --model "$ckpt" --generate "$prompt" --generate-batch $b --max-new-tokens 128 \
        --device cuda --dtype bf16 --quiet --json "$work/ll_dec$b.json"
      emit decode_batch$b layerlab "$work/ll_dec$b.json" \
        "dict(seconds=g['elapsed_s'], tokens_per_s=g['tokens_per_second'], first_token_s=g['first_token_s'],
              new_tokens=len(g['tokens']), steps=g['decode_steps'], head=g['tokens'][:8])"
      measure ll_gen$b ll "$build/bench/bench_generate" "$ckpt" "$prompt" --batch $b --new-tokens 128 \
        --steps auto,dynamic --passes 3
      emit decode_warm_batch$b layerlab "$work/ll_gen$b.out" \
        "dict(seconds=rows[2]['seconds'], tokens_per_s=rows[2]['tokens_per_s'], first_token_s=rows[2]['first_token_s'],
              decode_tokens_per_s=rows[2]['decode_tokens_per_s'], steps=rows[2]['steps'], head=rows[2]['head'],
              dynamic_tokens_per_s=rows[5]['tokens_per_s'], dynamic_decode_tokens_per_s=rows[5]['decode_tokens_per_s'],
              allocator_peak_mib=rows[5].get('allocator_peak_mib'))"
      measure tf_dec$b tf --part decode --prompt "$prompt" --batch $b --max-new-tokens 128
      emit decode_batch$b transformers-sdpa "$work/tf_dec$b.out" "j"
      emit decode_warm_batch$b transformers-sdpa "$work/tf_dec$b.out" \
        "dict(seconds=j['warm_s'], tokens_per_s=j['warm_tokens_per_s'], first_token_s=j['first_token_s'],
              decode_tokens_per_s=j['decode_tokens_per_s'], head=j['head'])"
    done ;;
  decode_memory)
    # Where batch-1 decoding's peak comes from: one pass of each way of stepping, with and without
    # the GPU warm-up, each in its own process (nvidia-smi's peak beside the allocator's).
    for way in "auto 1" "auto 0" "dynamic 0"; do
      set -- $way
      measure ll_mem_$1_$2 ll "$build/bench/bench_generate" "$ckpt" "$prompt" --batch 1 --new-tokens 128 \
        --steps $1 --passes 1 --warm-up $2
      emit decode_memory_$1_warm_up$2 layerlab "$work/ll_mem_$1_$2.out" \
        "dict(steps=j['steps'], tokens_per_s=j['tokens_per_s'], allocator_peak_mib=j.get('allocator_peak_mib'))"
    done ;;
  *) echo "unknown part '$part'" >&2; exit 2 ;;
  esac
done
python3 bench/side_by_side_ratios.py "$out"
