#!/usr/bin/env bash
# The GPU verification run on the device machine: build core + CLI + tests against the installed
# PyTorch's LibTorch, run the whole test suite on CUDA and on the CPU, compare bf16 with f32 on
# the demo model, and run the tokenizer benchmark against Hugging Face tokenizers.
# Logs go to ${OUT:-/tmp/layerlab-check}.   Usage: tools/device_check.sh
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-/tmp/layerlab-check}
mkdir -p "$out"
cd "$root"
tools/device_build.sh > "$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
grep -c "warning:" "$out/build.log" | sed 's/^/compiler warnings: /'
b=build-device
source $b/device-env.sh
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
echo "== tests on cuda"
LAYERLAB_TEST_DEVICE=cuda $b/tests/layerlab_tests > "$out/tests_cuda.log" 2>&1
echo "exit $?"; grep -E "^\[  (PASSED|FAILED|SKIPPED) |tests ran| on cuda|demo perplexity|next_verse" "$out/tests_cuda.log"
echo "== tests on cpu (LibTorch $(python3 -c 'import torch;print(torch.__version__)'))"
$b/tests/layerlab_tests > "$out/tests_cpu.log" 2>&1
echo "exit $?"; grep -E "^\[  (PASSED|FAILED|SKIPPED) |tests ran" "$out/tests_cpu.log"
(cd $b && ctest -R cli --output-on-failure 2>&1 | tail -3)
echo "== demo model: f32 vs bf16 vs f16 on cuda (held-out text, 256-token windows)"
for dt in f32 bf16 f16; do
  $b/app/layerlab-cli eval --device cuda --dtype $dt --seq-len 256 --no-bos --quiet --json "$out/demo_$dt.json" 2>/dev/null | head -1
done
echo "== tokenizer speed, single thread, 8 MB (ours, then Hugging Face tokenizers)"
for tok in resources/demo tests/data/tokenizers/mistral; do
  echo "-- $tok"
  $b/bench/bench_tokenizer $tok resources/demo/heldout.txt 8
  RAYON_NUM_THREADS=1 python3 bench/bench_tokenizer_hf.py $tok resources/demo/heldout.txt 8
done
