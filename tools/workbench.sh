#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine:
#   tools/workbench.sh start [ARGS]  install what is missing, build, start LayerLab on the demo model
#                                    (ARGS go to layerlab, e.g. --self-test FILE.png or a model folder)
#   tools/workbench.sh test          install what is missing, build, run every test, then the core
#                                    tests again under ASan + UBSan (what CI runs)
#   tools/workbench.sh deps          only install what is missing
# Each stage prints its wall time; `test` ends with one line of counts.
#
# Which LibTorch: LAYERLAB_TORCH=cpu builds against Debian's libtorch-dev (CPU, preset "default",
# build/); LAYERLAB_TORCH=cuda against the LibTorch inside an installed CUDA PyTorch (preset "gpu",
# build-gpu/; needs the CUDA toolkit, nvcc). Unset, `start` takes cuda when both are found and cpu
# otherwise, and `test` takes cpu, what CI runs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Debian packages LayerLab builds against (README: "Dependencies" says why each is there).
# tools/clean_machine_check.sh proves this list on a minimal Debian 12 root.
packages=(g++ cmake ninja-build pkg-config git mold libtorch-dev nlohmann-json3-dev libpcre2-dev libicu-dev
          libopenblas0-pthread googletest libgtest-dev qt6-base-dev qt6-charts-dev qt6-svg-dev
          libqt6opengl6-dev libgl-dev chromium poppler-utils)
torch=${LAYERLAB_TORCH:-}
cuda_torch_prefix() { # the CMake prefix of an importable CUDA PyTorch, or nothing
    python3 -c 'import torch; print(torch.utils.cmake_prefix_path if torch.version.cuda else "")' 2>/dev/null
}
[ -x /usr/local/cuda/bin/nvcc ] && PATH="$PATH:/usr/local/cuda/bin"
if [ -z "$torch" ] && [ "${1:-start}" = start ]; then
    torch=cpu
    [ -n "$(cuda_torch_prefix)" ] && command -v nvcc >/dev/null 2>&1 && torch=cuda
fi
case "${torch:-cpu}" in
cpu) torch=cpu preset=default ;;
cuda)
    preset=gpu
    torch_prefix=$(cuda_torch_prefix || true)
    if [ -z "$torch_prefix" ] || ! command -v nvcc >/dev/null 2>&1; then
        echo "LAYERLAB_TORCH=cuda needs a PyTorch with CUDA (python3 -c 'import torch') and the CUDA toolkit's nvcc" >&2
        exit 1
    fi
    # The LibTorch comes with PyTorch; Debian's CPU one and its BLAS are not needed.
    packages=("${packages[@]/libtorch-dev/}")
    packages=("${packages[@]/libopenblas0-pthread/}") ;;
*) echo "LAYERLAB_TORCH is cpu or cuda, not $torch" >&2; exit 2 ;;
esac
# Node and npm (tokenizer parity tests only) may already come from elsewhere; Debian's npm then
# conflicts, so they are installed only when the commands are missing.
command -v node >/dev/null 2>&1 || packages+=(nodejs)
command -v npm >/dev/null 2>&1 || packages+=(npm)

began=$(date +%s)
stage_start=$began
stage() { # stage NAME: prints how long the stage that just ended took
    local now
    now=$(date +%s)
    printf '[workbench] %-34s %4d s\n' "$1" $((now - stage_start))
    stage_start=$now
}

install_missing() {
    local missing=()
    for p in "${packages[@]}"; do
        [ -n "$p" ] || continue
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    echo "Installing: ${missing[*]}"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

build() {
    if [ "$torch" = cuda ]; then
        echo "[workbench] GPU build: the LibTorch of $(python3 -c 'import torch; print("PyTorch", torch.__version__, "with CUDA", torch.version.cuda)') (build-gpu/)"
        cmake --preset gpu -DCMAKE_PREFIX_PATH="$torch_prefix" >/dev/null
    else
        echo "[workbench] CPU build: Debian's libtorch-dev (build/)"
        cmake --preset default >/dev/null
    fi
    cmake --build --preset "$preset" -j "$jobs"
}
binary_dir() { [ "$torch" = cuda ] && echo build-gpu || echo build; }

jobs=$(nproc)
command=${1:-start}
[ $# -gt 0 ] && shift
case "$command" in
deps)
    install_missing ;;
start)
    install_missing
    stage "packages"
    build
    stage "build"
    [ $# -gt 0 ] || set -- "$root/resources/demo"
    exec "$(binary_dir)/app/layerlab" "$@" ;;
test)
    install_missing
    stage "packages"
    build
    stage "build"
    logs="$root/$(binary_dir)/test-logs"
    # ctest runs one process per GoogleTest suite, each writing its JSON report under gtest/.
    rm -rf "$logs/gtest"
    mkdir -p "$logs"
    # Qt tests need no display; the offscreen platform draws into memory.
    if [ "$torch" = cuda ]; then
        # The model tests of the core and the workbench on the first GPU. The sanitizer stage
        # needs Debian's LibTorch: it is CI's (LAYERLAB_TORCH=cpu).
        QT_QPA_PLATFORM=offscreen LAYERLAB_TEST_DEVICE=cuda ctest --preset gpu -j "$jobs" --output-junit "$logs/ctest.xml"
        stage "tests on the GPU"
        exit 0
    fi
    # One thread per test process, as many processes as cores: LibTorch's and OpenBLAS's threads in
    # tests running side by side only contend (on 2 cores, with a process per test, the demo
    # model's multiple choice took 48 s instead of 25 s, and the whole run 370 s instead of 303 s).
    OMP_NUM_THREADS=1 QT_QPA_PLATFORM=offscreen ctest --preset default -j "$jobs" --output-junit "$logs/ctest.xml"
    stage "tests"
    # The core tests again, with the core built under AddressSanitizer + UndefinedBehaviorSanitizer
    # and linked with the test objects compiled above: any finding fails the run. One process for
    # all of them (a sanitized process takes 4 s to start). Left out: the longest numeric runs on
    # the demo model (Monte Carlo Shapley and padded multiple choice among them, 63 s there) and the
    # npm tokenizer parity (all passed above; under the sanitizers they add over ten minutes and
    # reach no code the others do not), and the lm-eval rules on the demo model (40 s there;
    # MultipleChoiceEval runs the same scorer).
    cmake --build --preset default -j "$jobs" --target layerlab_tests_sanitized
    stage "sanitizer build"
    ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
    LSAN_OPTIONS="suppressions=$root/tests/sanitizers/lsan.supp:print_suppressions=0" \
    UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$root/tests/sanitizers/ubsan.supp" \
        build/tests/layerlab_tests_sanitized --gtest_brief=1 --gtest_output="json:$logs/asan.json" \
        --gtest_filter='-AdapterFit.RecoveryNeverWorse*:Shapley.DemoModelMonteCarlo*:MultipleChoiceEval.PaddingDoesNotChange*:AdapterTraining.LossFalls*:SplitModel.EvaluationImportance*:DemoModel.*:EvaluationSoak.*:*TokenizerRealParity*:LmEvalRules.ScoresAndPicks*'
    stage "sanitizer tests"
    # One closing line with the counts of both passes, from GoogleTest's JSON reports and, for the
    # tests that are not GoogleTest suites (the CLI's), ctest's JUnit report (a failure stops the
    # script earlier, with the test's output).
    tests() { awk '/^  "tests": / { n += $2 } END { print n + 0 }' "$@"; } # GoogleTest JSON reports
    skipped() { cat "$@" | grep -c '"result": "SKIPPED"' || true; }
    suite_reports=("$logs"/gtest/*/*.json)
    ctest_entries=$(grep -o 'tests="[0-9]*"' "$logs/ctest.xml" | head -1 | grep -o '[0-9]*')
    local_tests=$(($(tests "${suite_reports[@]}") + ctest_entries - ${#suite_reports[@]}))
    local_skipped=$(skipped "${suite_reports[@]}")
    asan_tests=$(tests "$logs/asan.json") asan_skipped=$(skipped "$logs/asan.json")
    passed=$((local_tests - local_skipped + asan_tests - asan_skipped))
    took=$(($(date +%s) - began))
    echo "[workbench] ctest: $((local_tests - local_skipped)) passed, $local_skipped skipped;" \
         "ASan/UBSan: $((asan_tests - asan_skipped)) passed, $asan_skipped skipped;" \
         "$((took / 60)) min $((took % 60)) s in all"
    echo "total: $passed passed, 0 failed, $((local_skipped + asan_skipped)) skipped"
    ;;
*)
    echo "usage: tools/workbench.sh start [LAYERLAB_ARGS...] | test | deps" >&2
    exit 2 ;;
esac
