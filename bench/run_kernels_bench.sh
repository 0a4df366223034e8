#!/usr/bin/env bash
# On a GPU machine, after tools/device_build.sh: LayerLab's fused GPU paths against its reference
# arithmetic, same model, data and process layout, one process after the other: perplexity over
# 64 x 2048 random tokens and multiple-choice scoring, first and warm passes, on a
# Llama-2-7B-shaped random bf16 checkpoint. Prints bench_eval's JSON lines, each process followed by
# {"mode": ..., "peak_gpu_mib": ...} (nvidia-smi every 50 ms, minus the idle value).
#
# MODES (default "reference fused reference fused"), alternating so that neither side always
# runs first:
#   fused            every fused path (the default of the CLI and the workbench)
#   reference        --kernels reference: transformers' arithmetic step by step
#   separate-norm    fused, but the residual add and RMSNorm as LibTorch's kernels (--add-norm separate)
set -euo pipefail
build=${BUILD:-build-device}
ckpt=${CKPT:-/tmp/llama7b}
data=/tmp/random_64x2048.jsonl
task=/tmp/next_verse_bench.jsonl
source bench/bench_setup.sh
bench_setup "$ckpt" "$data" 64 "$task" ${MC_ITEMS:-400}
smi=(nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -i "${GPU_INDEX:-0}")
idle=$("${smi[@]}")
samples=$(mktemp)
trap 'rm -f "$samples"; kill $(jobs -p) 2>/dev/null || true' EXIT
for mode in ${MODES:-reference fused reference fused}; do
  case $mode in
  fused) args=(--kernels fused) ;;
  reference) args=(--kernels reference) ;;
  separate-norm) args=(--kernels fused --add-norm separate) ;;
  *) echo "unknown mode $mode (fused, reference, separate-norm)" >&2; exit 2 ;;
  esac
  "${smi[@]}" -lms 50 > "$samples" &
  sampler=$!
  "$build/bench/bench_eval" "$ckpt" "$data" "$task" --device cuda --dtype bf16 --batch 8 --mc-batch 16 "${args[@]}"
  kill "$sampler"
  wait "$sampler" 2>/dev/null || true
  echo "{\"mode\": \"$mode\", \"peak_gpu_mib\": $(( $(sort -n "$samples" | tail -n 1) - idle ))}"
done
