#!/usr/bin/env bash
# On a GPU machine, after tools/device_build.sh: importance metrics on a Llama-2-7B-shaped random
# checkpoint, bf16. (1) cosine for block/attn/ffn against eval on the same 32 x 2048 tokens;
# (2) Shapley over 32 blocks: forward passes saved by incremental evaluation, time to a target SE.
set -euo pipefail
build=${BUILD:-build-device}
ckpt=${CKPT:-/tmp/llama7b}
data=/tmp/random_32x2048.jsonl
[ -d "$ckpt" ] || python3 bench/bench_forward_transformers.py --make-checkpoint "$ckpt"
python3 -c "
import json, random
random.seed(0)
with open('$data', 'w') as f:
    for _ in range(32): f.write(json.dumps({'input_ids': [random.randrange(32000) for _ in range(2048)]}) + '\n')"
cli="$build/app/layerlab-cli"
common="--model $ckpt --data $data --seq-len 0 --device cuda --dtype bf16 --batch-size 8 --quiet"
# Both timers cover the computation only (not loading); the GPU's first batches (cuBLAS/allocator
# warm-up) land in whichever runs first, so each runs REPEAT times, alternating, and the medians count.
for i in $(seq ${REPEAT:-3}); do
  $cli eval $common --json /tmp/eval_$i.json > /dev/null
  $cli importance $common --metrics cosine --granularity block,attn,ffn --json /tmp/cosine_$i.json > /dev/null
done
python3 -c "
import json, statistics
n = ${REPEAT:-3}
e = [json.load(open(f'/tmp/eval_{i}.json'))['elapsed_s'] for i in range(1, n + 1)]
c = [json.load(open(f'/tmp/cosine_{i}.json'))['elapsed_s'] for i in range(1, n + 1)]
print(json.dumps({'eval_s': e, 'cosine_3_granularities_s': c,
                  'median_ratio': statistics.median(c) / statistics.median(e)}))"
# Shapley: fewer tokens (8 x 512) so the sampling fits a time box; random weights make the values small.
timeout ${SHAPLEY_TIMEOUT:-240} $cli importance --model $ckpt --data $data --seq-len 512 --max-sequences 8 --device cuda \
  --dtype bf16 --batch-size 8 --quiet --metrics shapley --granularity block --shapley-target-se 0.01 \
  --shapley-budget ${SHAPLEY_BUDGET:-3000} --json /tmp/shapley.json > /dev/null || echo "shapley: stopped by the time box"
[ -f /tmp/shapley.json ] && python3 -c "
import json
s = json.load(open('/tmp/shapley.json')); b = s['settings']['shapley']['block']
se = max(s['stderr']['shapley']['block'])
print(json.dumps({'shapley_blocks': 32, 'elapsed_s': s['elapsed_s'], 'max_stderr': se, **b}))"
