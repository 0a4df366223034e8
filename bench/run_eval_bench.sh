#!/usr/bin/env bash
# On a GPU machine, after tools/device_build.sh: `eval` throughput (perplexity and multiple-choice
# scoring) on a Llama-2-7B-shaped random checkpoint in bf16, against transformers with SDPA on the
# same GPU and data (bench/bench_eval_transformers.py). Prints JSON lines.
set -euo pipefail
build=${BUILD:-build-device}
ckpt=${CKPT:-/tmp/llama7b}
data=/tmp/random_32x2048.jsonl
task=/tmp/next_verse_bench.jsonl
source bench/bench_setup.sh
bench_setup "$ckpt" "$data" 32 "$task" ${MC_ITEMS:-400}
cli="$build/app/layerlab-cli"
for i in $(seq ${REPEAT:-2}); do
  $cli eval --model "$ckpt" --data "$data" --seq-len 0 --device cuda --dtype bf16 --batch-size 8 --quiet \
    --json /tmp/eval_ppl_$i.json > /dev/null
  $cli eval --model "$ckpt" --tasks "$task" --device cuda --dtype bf16 --batch-size 16 --quiet \
    --json /tmp/eval_mc_$i.json > /dev/null
  python3 -c "
import json
p = json.load(open('/tmp/eval_ppl_$i.json')); m = json.load(open('/tmp/eval_mc_$i.json'))['tasks']['next_verse_bench']
print(json.dumps({'engine': 'layerlab', 'run': $i, 'ppl_tokens_per_s': p['tokens_per_second'], 'ppl_loss': p['loss'],
                  'ppl_s': p['elapsed_s'], 'mc_tokens_per_s': m['tokens_per_second'], 'mc_tokens': m['tokens'],
                  'mc_s': m['elapsed_s'], 'mc_acc': m['acc']}))"
done
# Cold and warm passes with the model loaded once (the CLI runs above are cold: one pass each).
"$build/bench/bench_eval" "$ckpt" "$data" "$task" --device cuda --dtype bf16 --batch 8 --mc-batch 16
python3 bench/bench_eval_transformers.py --model "$ckpt" --ppl "$data" --tasks "$task"
