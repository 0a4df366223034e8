#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/targets/*.cpp) with clang, ASan and UBSan, and runs each
# target, or one named target, for SECONDS seconds (default 60):
#
#   tools/fuzz.sh                 # every target, 60 s each
#   tools/fuzz.sh tokenizer 600   # one target for 10 minutes
#   tools/fuzz.sh all 600         # every target, 10 minutes each
#
# Everything goes to build-fuzz/ (ignored by git; LAYERLAB_FUZZ_BUILD=DIR picks another folder):
# corpus/TARGET (kept between runs), seeds/TARGET (the files named on the target's "// seeds:"
# lines, cut to 64 KiB or its -max_len), findings/TARGET (crash-*, timeout-*, oom-*, leak-*
# inputs), logs/TARGET.log.
# A run that stops at a finding is restarted until its time is used up. Runs under nice; JOBS
# sets the build's parallelism (default 1). Exit status: 1 when any target found something.
# Reproduce a finding: build-fuzz/fuzz/fuzz_TARGET FILE. Keep it as a regression test by copying
# it to tests/data/fuzz_regressions/TARGET/ (tests/core/test_fuzz_regressions.cpp runs them all).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${LAYERLAB_FUZZ_BUILD:-$ROOT/build-fuzz}
JOBS=${JOBS:-1}
TARGET=${1:-all}
SECONDS_EACH=${2:-60}
RSS_LIMIT_MB=${RSS_LIMIT_MB:-2048} # also the limit for one allocation
TIMEOUT_S=${TIMEOUT_S:-10}         # per input
SEED_BYTES=65536

case "$SECONDS_EACH" in '' | *[!0-9]*) echo "usage: $0 [TARGET|all] [SECONDS]" >&2; exit 2 ;; esac

all_targets=()
for f in "$ROOT"/fuzz/targets/*.cpp; do all_targets+=("$(basename "$f" .cpp)"); done
if [ "$TARGET" = all ]; then
    targets=("${all_targets[@]}")
elif [ -f "$ROOT/fuzz/targets/$TARGET.cpp" ]; then
    targets=("$TARGET")
else
    echo "unknown target '$TARGET' (targets: ${all_targets[*]})" >&2
    exit 2
fi

if [ ! -f "$BUILD/build.ninja" ]; then
    nice -n 10 cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DLAYERLAB_FUZZ=ON \
        -DLAYERLAB_GUI=OFF -DLAYERLAB_TESTS=OFF -DLAYERLAB_BENCH=OFF
fi
nice -n 10 cmake --build "$BUILD" -j "$JOBS" --target "${targets[@]/#/fuzz_}"

stat_of() { # stat_of NAME LOG: the value libFuzzer's -print_final_stats gave, summed over restarts
    awk -v k="stat::$1:" '$1 == k { s += $2 } END { print s + 0 }' "$2"
}

status=0
summary=()
for t in "${targets[@]}"; do
    corpus=$BUILD/corpus/$t seeds=$BUILD/seeds/$t findings=$BUILD/findings/$t tmp=$BUILD/tmp/$t
    log=$BUILD/logs/$t.log
    mkdir -p "$corpus" "$seeds" "$findings" "$tmp" "$BUILD/logs"
    : >"$log"
    # Seeds: the globs on the target's "// seeds:" lines, relative to the repository root; extra
    # libFuzzer flags on its "// fuzz-options:" line (-max_len=N also cuts the seeds to N bytes).
    globs=$(sed -n 's|^// seeds:||p' "$ROOT/fuzz/targets/$t.cpp")
    read -r -a extra <<<"$(sed -n 's|^// fuzz-options:||p' "$ROOT/fuzz/targets/$t.cpp" | head -1)"
    seed_bytes=$SEED_BYTES
    for o in "${extra[@]}"; do case "$o" in -max_len=*) seed_bytes=${o#-max_len=} ;; esac; done
    rm -rf "$seeds" && mkdir -p "$seeds"
    (
        cd "$ROOT"
        for g in $globs; do
            for f in $g; do
                [ -f "$f" ] && head -c "$seed_bytes" "$f" >"$seeds/$(echo "$f" | tr '/' '_')"
            done
        done
    )
    before=$(find "$findings" -type f | wc -l)
    start=$(date +%s)
    left=$SECONDS_EACH
    runs=0
    while [ "$left" -gt 0 ] && [ "$runs" -lt 20 ]; do
        runs=$((runs + 1))
        TMPDIR=$tmp nice -n 10 "$BUILD/fuzz/fuzz_$t" "$corpus" "$seeds" -max_total_time="$left" \
            -rss_limit_mb="$RSS_LIMIT_MB" -timeout="$TIMEOUT_S" -artifact_prefix="$findings/" \
            -print_final_stats=1 "${extra[@]}" >>"$log" 2>&1 || true
        left=$((SECONDS_EACH - ($(date +%s) - start)))
    done
    rm -rf "$tmp"
    execs=$(stat_of number_of_executed_units "$log")
    elapsed=$(($(date +%s) - start))
    rate=$((execs / (elapsed > 0 ? elapsed : 1)))
    units=$(find "$corpus" -type f | wc -l)
    bytes=$(du -sk "$corpus" | cut -f1)
    found=$(($(find "$findings" -type f | wc -l) - before))
    [ "$found" -gt 0 ] && status=1
    summary+=("$(printf '%-14s %6ss %12s execs %8s/s  corpus %6s files %7s KiB  new findings %s' \
        "$t" "$elapsed" "$execs" "$rate" "$units" "$bytes" "$found")")
    echo "== $t: $execs executions in ${elapsed}s ($rate/s), corpus $units files, $found new findings" \
        "(log: $log, findings: $findings)"
done
echo
printf '%s\n' "${summary[@]}"
exit $status
