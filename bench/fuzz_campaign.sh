#!/usr/bin/env bash
# fuzz_campaign.sh - a long libFuzzer run over every fuzz target (not part of CI: CI replays
# the corpora and runs each target briefly). Prints executions and crashes per target and
# the total; docs/reliability.md records the results with this command.
#
# Usage: bench/fuzz_campaign.sh [SECONDS_PER_TARGET] [JOBS]
#   SECONDS_PER_TARGET (default 120) of fuzzing per target per job; JOBS (default nproc)
#   targets run at once. FUZZ_BUILD (default /tmp/build-fuzzfast): a clang build with
#   -DCL_FUZZ=ON and without sanitizers, for speed (`SANITIZE=1` builds with ASan+UBSan
#   instead, as scripts/build.sh fuzz does). New inputs go to a scratch corpus, never into
#   tests/fuzz/corpus; a crash's input is kept in the scratch directory and named.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SECONDS_PER_TARGET=${1:-120}
JOBS=${2:-$(nproc)}
FUZZ_BUILD=${FUZZ_BUILD:-/tmp/build-fuzzfast}
SANITIZE=${SANITIZE:-0}
WORK=$(mktemp -d /tmp/cl-fuzz-campaign.XXXXXX)

targets=()
for src in tests/fuzz/fuzz_*.c; do
    targets+=("$(basename "$src" .c)")
done
san=OFF
[[ "$SANITIZE" == 1 ]] && san=ON
cmake -S "$ROOT" -B "$FUZZ_BUILD" -DCMAKE_BUILD_TYPE=Release -DCL_FUZZ=ON -DCL_SANITIZE=$san \
    -DCMAKE_C_COMPILER=clang > /dev/null
cmake --build "$FUZZ_BUILD" -j "$(nproc)" --target "${targets[@]}" > "$WORK/build.log" 2>&1 ||
    { tail -n 30 "$WORK/build.log" >&2; exit 1; }

# run_one TARGET: fuzzes TARGET for SECONDS_PER_TARGET s; writes WORK/TARGET.log.
run_one() {
    local t=$1
    mkdir -p "$WORK/$t"
    "$FUZZ_BUILD/tests/fuzz/$t" -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 \
        -artifact_prefix="$WORK/$t-" -timeout=10 -rss_limit_mb=2048 \
        "$WORK/$t" "$ROOT/tests/fuzz/corpus/$t" > "$WORK/$t.log" 2>&1 || true
}

running=0
for t in "${targets[@]}"; do
    run_one "$t" &
    running=$((running + 1))
    if ((running >= JOBS)); then
        wait -n
        running=$((running - 1))
    fi
done
wait

total=0
crashes=0
printf '%-22s %14s %8s\n' TARGET EXECUTIONS CRASHES
for t in "${targets[@]}"; do
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$WORK/$t.log" | tail -n 1)
    n=${n:-0}
    c=$(find "$WORK" -maxdepth 1 -name "$t-crash-*" -o -maxdepth 1 -name "$t-leak-*" \
        -o -maxdepth 1 -name "$t-timeout-*" -o -maxdepth 1 -name "$t-oom-*" | wc -l)
    printf '%-22s %14d %8d\n' "$t" "$n" "$c"
    total=$((total + n))
    crashes=$((crashes + c))
done
printf '%-22s %14d %8d\n' TOTAL "$total" "$crashes"
echo "scratch corpora and any crash inputs: $WORK"
[[ "$crashes" -eq 0 ]]
