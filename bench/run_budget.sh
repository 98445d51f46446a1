#!/usr/bin/env bash
# run_budget.sh - what the processors' buffer budget (--buffer-max) costs and buys end to end:
# for each build and budget, alternating, ROUNDS times, a fresh daemon (--analytics off) and
# data directory take RATE requests/s of 1000 records on 16 connections for WARMUP +
# DURATION s; /proc/PID/status is sampled every 0.2 s and the smaps of the highest sample
# kept. Printed per run: ingested records/s, daemon CPU % (loadgen's --server-pid), peak
# RSS (VmHWM), where the highest sample's resident memory was (anonymous mappings: the
# partition buffers and the second malloc arena; the main heap; file mappings), and the
# objects the run stored (count, mean compressed KiB, mean raw MiB, records per object).
#
# Usage: bench/run_budget.sh BUILD_DIR [BUILD_DIR...]
# Environment: RATE [470] requests/s   WARMUP [5]   DURATION [25] s   ROUNDS [2]
#   BUDGETS ["default"] --buffer-max values tried with every build ("default": no option,
#           the build's own default)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RATE=${RATE:-470}
WARMUP=${WARMUP:-5}
DURATION=${DURATION:-25}
ROUNDS=${ROUNDS:-2}
BUDGETS=${BUDGETS:-default}
SERVE_ARGS="--analytics off"
READY_TIMEOUT=${READY_TIMEOUT:-30}
STOP_TIMEOUT=${STOP_TIMEOUT:-60}
[[ $# -ge 1 ]] || { echo "usage: $0 BUILD_DIR [BUILD_DIR...]" >&2; exit 2; }

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
tmp=$(mktemp -d)
loadgen_pid=""
cleanup() {
    stop_child loadgen_pid
    stop_server
    remove_tmp 0
}
set_traps

# mib_of SMAPS: resident MiB of anonymous mappings, [heap] and files in one smaps dump.
mib_of() {
    awk '/^[0-9a-f]+-[0-9a-f]+ / { n = $6; kind = n == "" ? "anon" : n == "[heap]" ? "heap" : n ~ /^\// ? "file" : "other" }
        /^Rss:/ { r[kind] += $2 }
        END { printf "anon %.1f heap %.1f file %.1f", r["anon"] / 1024, r["heap"] / 1024, r["file"] / 1024 }' "$1"
}

# one_run BUILD BUDGET: one daemon, one line of results.
one_run() {
    local build=$1 budget=${2#default} data=$tmp/data max=0 r
    CLOUDLOG=$build/cloudlog
    rm -rf "$data"
    # shellcheck disable=SC2086
    start_server "$tmp/serve.log" "$data" ${budget:+--buffer-max "$budget"}
    "$build/bench/bench_loadgen" --url "http://$addr/v1/logs" --connections 16 --batch 1000 \
        --seed 1 --server-pid "$server_pid" --json --rate "$RATE" --warmup "$WARMUP" \
        --duration "$DURATION" > "$tmp/lg.json" &
    loadgen_pid=$!
    while alive "$loadgen_pid"; do
        r=$(awk '/^VmRSS/ { print $2 }' "/proc/$server_pid/status")
        if ((r > max)); then
            max=$r
            cp "/proc/$server_pid/smaps" "$tmp/smaps.max" 2> /dev/null || true
        fi
        sleep 0.2
    done
    wait "$loadgen_pid" || true
    loadgen_pid=""
    local hwm
    hwm=$(hwm_mib "$server_pid")
    stop_server
    local objs
    objs=$(sql "$data" "SELECT count(*), round(avg(bytes) / 1024.0), round(avg(raw_bytes) / 1048576.0, 2),
        round(avg(records)) FROM objects")
    printf '%-40s %-6s %8.0f rec/s  cpu %5.1f%%  peak %5.1f MiB (%s)  objects %s (count|KiB|raw MiB|records)  load %s\n' \
        "$build" "${budget:-dflt}" "$(jq -r '.events_per_s' "$tmp/lg.json")" \
        "$(jq -r '.server_cpu_pct' "$tmp/lg.json")" "$hwm" "$(mib_of "$tmp/smaps.max")" "$objs" \
        "$(cut -d' ' -f1 /proc/loadavg)"
}

log "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $RATE req/s offered"
for ((round = 1; round <= ROUNDS; round++)); do
    for build in "$@"; do
        for budget in $BUDGETS; do
            one_run "$build" "$budget"
        done
    done
done
