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
[ -d "$ckpt" ] || python3 bench/bench_forward_transformers.py --make-checkpoint "$ckpt"
cp tests/data/tokenizers/mistral/tokenizer.json tests/data/tokenizers/mistral/tokenizer_config.json "$ckpt"/
python3 -c "
import json, random
random.seed(0)
with open('$data', 'w') as f:
    for _ in range(64): f.write(json.dumps({'input_ids': [random.randrange(32000) for _ in range(2048)]}) + '\n')"
head -n ${MC_ITEMS:-400} resources/demo/next_verse.jsonl > "$task"
cat "$ckpt"/*.safetensors > /dev/null
for kernels in reference fused reference fused; do
  "$build/bench/bench_eval" "$ckpt" "$data" "$task" --device cuda --dtype bf16 --batch 8 --mc-batch 16 \
    --kernels $kernels
done
