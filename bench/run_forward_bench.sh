#!/usr/bin/env bash
# On a GPU machine, after tools/device_build.sh: Llama-2-7B-shaped random checkpoint, then
# LayerLab vs transformers (eager, SDPA), bf16, batch 8 x 2048. Prints JSON lines.
set -euo pipefail
build=${BUILD:-build-device}
ckpt=${CKPT:-/tmp/llama7b}
[ -d "$ckpt" ] || python3 bench/bench_forward_transformers.py --make-checkpoint "$ckpt"
# Page cache warm for everyone: read the files once.
cat "$ckpt"/*.safetensors > /dev/null
"$build/bench/bench_forward" "$ckpt" --device cuda --dtype bf16 --batch 8 --seq 2048 --iters 5
python3 bench/bench_forward_transformers.py --model "$ckpt" --attn sdpa
python3 bench/bench_forward_transformers.py --model "$ckpt" --attn eager
"$build/bench/bench_forward" "$ckpt" --device cuda --dtype bf16 --batch 8 --seq 2048 --iters 5
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
