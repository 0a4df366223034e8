#!/usr/bin/env bash
# The workbench on a GPU machine without Qt (issue #21), in two steps that each fit one device call:
#   tools/device_workbench_check.sh build     the GUI build against the installed CUDA PyTorch and
#                                             Debian's Qt from .carry/sysroot.tar.xz (preset "gpu"),
#                                             then the workbench's tests with LAYERLAB_TEST_DEVICE=cuda;
#                                             makes the Llama-2-7B-shaped bf16 checkpoint meanwhile
#   tools/device_workbench_check.sh session   bench_workbench_session on that checkpoint on cuda
# Logs and the screenshot go to ${OUT:-/tmp/layerlab-check}.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-/tmp/layerlab-check}
ckpt=${CKPT:-/tmp/llama7b}
mkdir -p "$out"
cd "$root"
b=build-gpu
make_checkpoint() {
  [ -f "$ckpt/config.json" ] && return 0
  # A tokenizer for the random model: the small Mistral-style BPE of the tests (ids < 32000).
  (python3 bench/bench_forward_transformers.py --make-checkpoint "$ckpt" &&
     cp tests/data/tokenizers/mistral/tokenizer.json tests/data/tokenizers/mistral/tokenizer_config.json "$ckpt"/) \
    >"$out/checkpoint.log" 2>&1
}
case "${1:-}" in
build)
  make_checkpoint &
  start=$(date +%s)
  TARGETS=${TARGETS:-"layerlab layerlab-cli layerlab_ui_tests bench_workbench_session"} \
    tools/device_build.sh --gui >"$out/build.log" 2>&1 || { tail -60 "$out/build.log"; exit 1; }
  echo "GUI build: $(( $(date +%s) - start )) s, $(grep -c ': warning:' "$out/build.log") compiler warnings"
  source $b/device-env.sh
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  echo "== workbench tests on cuda"
  start=$(date +%s)
  LAYERLAB_TEST_DEVICE=cuda $b/tests/ui/layerlab_ui_tests --gtest_brief=1 >"$out/ui_tests_cuda.log" 2>&1
  echo "exit $?, $(( $(date +%s) - start )) s"
  grep -E "^\[  (PASSED|FAILED|SKIPPED) |tests ran|Failure" "$out/ui_tests_cuda.log" | head -30
  $b/app/layerlab --self-test "$out/self_test.png" 2>&1 | tail -2
  wait
  tail -3 "$out/checkpoint.log"
  ;;
session)
  make_checkpoint &
  TARGETS=bench_workbench_session tools/device_build.sh --gui >"$out/build.log" 2>&1 || { tail -40 "$out/build.log"; exit 1; }
  source $b/device-env.sh
  wait
  cat "$ckpt"/*.safetensors >/dev/null # from the page cache, as after a first open
  $b/bench/bench_workbench_session "$ckpt" cuda bf16 /tmp/layerlab-session 2>&1 | tee "$out/session.log"
  cp /tmp/layerlab-session/workbench_session.png "$out/" 2>/dev/null
  [ -f /tmp/layerlab-session/export/config.json ] && python3 -c "import json; c = json.load(open('/tmp/layerlab-session/export/config.json')); print('exported:', c['architectures'], c['num_hidden_layers'], 'layers')"
  ;;
*)
  echo "usage: tools/device_workbench_check.sh build | session" >&2
  exit 2 ;;
esac
