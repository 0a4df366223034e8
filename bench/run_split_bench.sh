#!/usr/bin/env bash
# On a GPU machine, after tools/device_build.sh -DLAYERLAB_BENCH=ON: a Llama-2-70B-shaped random
# checkpoint (LAYERS of its 80 layers; all of them on a host with room for 140 GB on disk), then
#   - load bandwidth from the page cache with one reading thread and with the default pool;
#   - forward + loss on one device and spread over DEVICES (default: two placements on one GPU;
#     on a 2-GPU host: DEVICES=cuda:0,cuda:1 or auto): the losses must agree;
#   - the GPU + CPU split (really crossing devices) against the GPU alone, on a small batch;
#   - layerlab-cli eval and importance (cosine) on the split model.
# Prints JSON lines; bench/results/split_*.md records them.
set -euo pipefail
build=${BUILD:-build-device}
ckpt=${CKPT:-/tmp/llama70b}
layers=${LAYERS:-8}
devices=${DEVICES:-cuda:0,cuda:0}
[ -d "$ckpt" ] || python3 bench/bench_forward_transformers.py --make-checkpoint "$ckpt" --shape llama2-70b --layers "$layers"
cat "$ckpt"/*.safetensors > /dev/null
bench=("$build/bench/bench_forward" "$ckpt" --dtype bf16)
"${bench[@]}" --device cuda --batch 4 --seq 2048 --iters 3 --load-threads 1
"${bench[@]}" --device cuda --batch 4 --seq 2048 --iters 3
"${bench[@]}" --devices "$devices" --batch 4 --seq 2048 --iters 3
if [ "${CPU_SPLIT:-1}" = 1 ]; then # the last layers on the CPU: slow for many 70B-wide layers
  "${bench[@]}" --device cuda --batch 1 --seq 256 --iters 1
  "${bench[@]}" --devices cuda:0,cpu --batch 1 --seq 256 --iters 1
fi
# Token ids as data (the random checkpoint has no tokenizer).
python3 - "$ckpt/ids.jsonl" <<'PY'
import json, random, sys
random.seed(0)
with open(sys.argv[1], "w") as f:
    for _ in range(8):
        f.write(json.dumps({"input_ids": [random.randrange(32000) for _ in range(1024)]}) + "\n")
PY
cli=("$build/app/layerlab-cli")
"${cli[@]}" eval --model "$ckpt" --data "$ckpt/ids.jsonl" --seq-len 0 --dtype bf16 --device cuda --batch-size 4 --quiet --json /tmp/eval_one.json
cat /tmp/eval_one.json; echo
"${cli[@]}" eval --model "$ckpt" --data "$ckpt/ids.jsonl" --seq-len 0 --dtype bf16 --devices "$devices" --batch-size 4 --quiet --json /tmp/eval_split.json
cat /tmp/eval_split.json; echo
"${cli[@]}" importance --model "$ckpt" --data "$ckpt/ids.jsonl" --seq-len 0 --dtype bf16 --devices "$devices" --metrics cosine --batch-size 4 --quiet --json /tmp/importance_split.json
head -c 1500 /tmp/importance_split.json
echo
nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader
