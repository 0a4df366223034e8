#!/usr/bin/env bash
# On a GPU machine, after tools/device_build.sh: LayerLab's fused GPU paths against its reference
# arithmetic (--kernels reference), same model, data and process layout, one after the other:
# perplexity over 64 x 2048 random tokens and multiple-choice scoring, first and warm passes, on a
# Llama-2-7B-shaped random bf16 checkpoint. Prints JSON lines (bench_eval's).
set -euo pipefail
build=${BUILD:-build-device}
ckpt=${CKPT:-/tmp/llama7b}
data=/tmp/random_64x2048.jsonl
task=/tmp/next_verse_bench.jsonl
source bench/bench_setup.sh
bench_setup "$ckpt" "$data" 64 "$task" ${MC_ITEMS:-400}
for kernels in reference fused reference fused; do
  "$build/bench/bench_eval" "$ckpt" "$data" "$task" --device cuda --dtype bf16 --batch 8 --mc-batch 16 \
    --kernels $kernels
done
