#!/usr/bin/env bash
# run_ab.sh - the same benchmarks against two builds in one invocation, alternating, so a
# shared machine's load hits both alike: ingest alone (run_ingest.sh, the baseline config)
# and end to end (run_e2e.sh) for build A, then B, ROUNDS times.
#
# Usage: bench/run_ab.sh BUILD_DIR_A BUILD_DIR_B
# Environment: ROUNDS [1]; everything run_ingest.sh and run_e2e.sh read (RATES, STEP,
# WARMUP, DURATION, DRAIN_RECORDS, PARTS, ...) passes through. Each build dir must hold
# cloudlog and bench/bench_loadgen (cmake --build DIR --target cloudlog bench_loadgen).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $# -eq 2 ]] || { echo "usage: $0 BUILD_DIR_A BUILD_DIR_B" >&2; exit 2; }
ROUNDS=${ROUNDS:-1}
for ((r = 1; r <= ROUNDS; r++)); do
    for b in "$1" "$2"; do
        echo "=== round $r: $b ($(cut -d' ' -f1-3 /proc/loadavg) load)"
        SKIP_BUILD=1 BUILD_DIR=$b CONFIGS=baseline bench/run_ingest.sh 2>&1 | tail -n 6 || true
        SKIP_BUILD=1 BUILD_DIR=$b bench/run_e2e.sh 2>&1 || true # a failed part still lets B run
    done
done
