#!/usr/bin/env bash
# run_e2e_cpu.sh - CPU per record of the daemon at one fixed offered rate, ingest alone
# (--no-processor) and end to end, for one or more builds, alternating, ROUNDS times: what
# running the processors beside ingest costs, in figures that do not depend on how busy
# the machine is (on a shared machine the wall rates move, the CPU per record much less).
#
# Usage: bench/run_e2e_cpu.sh BUILD_DIR [BUILD_DIR...]
# Per run: a fresh daemon (--analytics off) and data directory, bench_loadgen at RATE
# requests/s of 1000 records on 16 connections for WARMUP + DURATION s; over the measured
# window `perf stat` counts the daemon's page faults, munmap/fsync/fdatasync calls and
# context switches. Printed per run: ingested records/s, daemon CPU % (loadgen's
# --server-pid), CPU us per record, p50/p99 latency, peak RSS (VmHWM), queue depth at the
# end (0: the processors kept up), those counts per 1000 records, and the load average.
#
# Environment: RATE [300] requests/s   WARMUP [5]   DURATION [12] s   ROUNDS [2]
#   MODES ["ingest e2e"]   SERVE_ARGS (extra `cloudlog serve` options)
#   LOADGEN_ARGS (extra bench_loadgen options, e.g. --templated)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RATE=${RATE:-300}
WARMUP=${WARMUP:-5}
DURATION=${DURATION:-12}
ROUNDS=${ROUNDS:-2}
MODES=${MODES:-ingest e2e}
SERVE_ARGS=${SERVE_ARGS:-}
LOADGEN_ARGS=${LOADGEN_ARGS:-}
READY_TIMEOUT=${READY_TIMEOUT:-30}
STOP_TIMEOUT=${STOP_TIMEOUT:-60}
SKIP_BUILD=1
BUILD_DIR=""
CLOUDLOG=""
loadgen_pid=""

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

cleanup() {
    stop_child loadgen_pid
    stop_server_quiet
    remove_tmp 0
}
set_traps

# run_one BUILD MODE: one daemon under loadgen; prints one line of figures.
run_one() {
    local b=$1 mode=$2 data=$tmp/data extra=()
    [[ "$mode" == ingest ]] && extra=(--no-processor)
    CLOUDLOG=$b/cloudlog
    rm -rf "$data"
    start_server "$tmp/serve.log" "$data" --analytics off "${extra[@]}"
    "$b/bench/bench_loadgen" --url "http://$addr/v1/logs" --connections 16 --batch 1000 --seed 1 \
        --server-pid "$server_pid" --json --rate "$RATE" --warmup "$WARMUP" \
        --duration "$DURATION" $LOADGEN_ARGS > "$tmp/lg.json" &
    loadgen_pid=$!
    sleep "$WARMUP"
    perf stat -x, -o "$tmp/stat.csv" -p "$server_pid" -e page-faults,context-switches \
        -e syscalls:sys_enter_munmap -e syscalls:sys_enter_fsync \
        -e syscalls:sys_enter_fdatasync -- sleep "$((DURATION - 1))" > /dev/null 2>&1 || true
    wait "$loadgen_pid" || true
    loadgen_pid=""
    local hwm depth ev cpu
    hwm=$(hwm_mib "$server_pid")
    depth=$(sql "$data" "SELECT count(*) FROM messages")
    stop_server
    ev=$(jq -r .events_per_s "$tmp/lg.json")
    cpu=$(jq -r .server_cpu_pct "$tmp/lg.json")
    local per1k
    per1k=$(awk -F, -v n="$(calc "$ev * ($DURATION - 1)" 0)" '$3 != "" {
        sub(/.*sys_enter_/, "", $3); printf "%s %.2f  ", $3, $1 * 1000 / n }' "$tmp/stat.csv")
    printf '%-40s %-6s %9.0f rec/s  cpu %6.1f%%  %5.2f us/rec  p50 %6.1f p99 %6.1f ms  peak %5.1f MiB  depth %s  per 1k rec: %s load %s\n' \
        "$b" "$mode" "$ev" "$cpu" "$(calc "$cpu * 1e4 / $ev" 3)" "$(jq -r .p50_ms "$tmp/lg.json")" \
        "$(jq -r .p99_ms "$tmp/lg.json")" "$hwm" "$depth" "$per1k" "$(cut -d' ' -f1 /proc/loadavg)"
}

main() {
    [[ $# -ge 1 ]] || die "usage: $0 BUILD_DIR [BUILD_DIR...]"
    command -v perf > /dev/null || die "perf is required"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/cloudlog-e2ecpu.XXXXXX")
    log "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $RATE req/s offered"
    local r b m
    for ((r = 1; r <= ROUNDS; r++)); do
        for m in $MODES; do
            for b in "$@"; do run_one "$b" "$m"; done
        done
    done
}

main "$@"
