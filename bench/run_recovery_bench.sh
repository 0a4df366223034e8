#!/usr/bin/env bash
# On a GPU machine, after tools/device_build.sh: fitting rank-64 low-rank maps for 8 removed
# attention sub-layers of a Llama-2-7B-shaped random checkpoint on 256 x 2048 tokens (bf16 forward,
# fp32 statistics), against one evaluation pass over the same data. Peak GPU memory is sampled
# with nvidia-smi while each command runs. Prints JSON lines.
set -euo pipefail
build=${BUILD:-build-device}
ckpt=${CKPT:-/tmp/llama7b}
data=/tmp/random_256x2048.jsonl
removed=${REMOVE:-attn:20-27}
[ -d "$ckpt" ] || python3 bench/bench_forward_transformers.py --make-checkpoint "$ckpt"
python3 -c "
import json, random
random.seed(1)
with open('$data', 'w') as f:
    for _ in range(256): f.write(json.dumps({'input_ids': [random.randrange(32000) for _ in range(2048)]}) + '\n')"
cli="$build/app/layerlab-cli"
common="--model $ckpt --data $data --seq-len 0 --device cuda --dtype bf16 --batch-size 8 --quiet"

# Runs "$@" while sampling used GPU memory; prints the peak in MiB on fd 3.
peak() {
  local log=/tmp/smi_$$.log
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 > "$log" &
  local smi=$!
  "$@" > /dev/null
  kill $smi; wait $smi 2> /dev/null || true
  sort -n "$log" | tail -1
}
eval_peak=$(peak $cli eval $common --json /tmp/recover_eval.json)
fit_peak=$(peak $cli recover $common --remove "$removed" --method lowrank:64 --no-guard --json /tmp/recover.json)
python3 -c "
import json
e = json.load(open('/tmp/recover_eval.json')); r = json.load(open('/tmp/recover.json'))
print(json.dumps({'tokens': 256 * 2048, 'removed': r['removed'], 'method': r['method'],
                  'eval_s': e['elapsed_s'], 'eval_peak_mib': $eval_peak,
                  'fit_s': r['fit_s'], 'recover_command_peak_mib': $fit_peak,
                  'fit_over_eval': r['fit_s'] / e['elapsed_s'],
                  'loss_full': r['full']['loss'], 'loss_removed': r['removed_only']['loss'],
                  'loss_recovered': r['recovered']['loss']}))"
