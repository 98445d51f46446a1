#!/usr/bin/env bash
# run_drain_faults.sh - the processors alone on one queued backlog, per build, alternating:
# page faults, mapping calls (mmap/mremap/munmap/madvise) and CPU per 1000 records while
# they drain it, and the peak RSS. Counts of faults and calls do not depend on how busy the
# machine is, unlike the wall rate.
#
# Usage: bench/run_drain_faults.sh BUILD_DIR [BUILD_DIR...]
# The backlog (RECORDS records, 1000 per request, bench_loadgen's seed 1) is queued once by
# the first build with --no-processor; each run copies it, starts `cloudlog serve
# --analytics off` on the copy with `perf stat -p` on the daemon, and stops at "no message
# left" (polled every 0.25 s).
# Environment: RECORDS [2000000]   ROUNDS [2]   SERVE_ARGS (extra `cloudlog serve` options)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RECORDS=${RECORDS:-2000000}
ROUNDS=${ROUNDS:-2}
SERVE_ARGS=${SERVE_ARGS:-}
READY_TIMEOUT=${READY_TIMEOUT:-30}
STOP_TIMEOUT=${STOP_TIMEOUT:-60}
CLOUDLOG=""
loadgen_pid=""
stat_pid=""

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

cleanup() {
    stop_child stat_pid
    stop_child loadgen_pid
    stop_server_quiet
    remove_tmp 0
}
set_traps

prefill() {
    CLOUDLOG=$1/cloudlog
    start_server "$tmp/prefill.log" "$tmp/queued" --no-processor --analytics off
    "$1/bench/bench_loadgen" --url "http://$addr/v1/logs" --connections 16 --batch 1000 \
        --seed 1 --requests "$((RECORDS / 1000))" --duration 600 --json > "$tmp/lg.json"
    stop_server
    log "queued $(sql "$tmp/queued" "SELECT count(*), sum(record_count) FROM messages")"
}

run_one() {
    local b=$1 data=$tmp/data c0 c1 i
    CLOUDLOG=$b/cloudlog
    rm -rf "$data"
    cp -r "$tmp/queued" "$data"
    start_server "$tmp/serve.log" "$data" --analytics off
    perf stat -x, -o "$tmp/stat.csv" -p "$server_pid" -e page-faults \
        -e syscalls:sys_enter_mmap -e syscalls:sys_enter_mremap \
        -e syscalls:sys_enter_munmap -e syscalls:sys_enter_madvise > /dev/null 2>&1 &
    stat_pid=$!
    c0=$(cpu_s "$server_pid")
    for ((i = 0; i < 2400; i++)); do
        [[ $(sql "$data" "SELECT count(*) FROM messages") == 0 ]] && break
        sleep 0.25
    done
    c1=$(cpu_s "$server_pid")
    kill -INT "$stat_pid" 2> /dev/null || true
    wait "$stat_pid" 2> /dev/null || true
    stat_pid=""
    local hwm per1k
    hwm=$(hwm_mib "$server_pid")
    stop_server
    per1k=$(awk -F, -v n="$RECORDS" '$3 != "" {
        sub(/.*sys_enter_/, "", $3); printf "%s %.2f  ", $3, $1 * 1000 / n }' "$tmp/stat.csv")
    printf '%-32s cpu %5.2f s per 1M rec  peak %5.1f MiB  per 1k rec: %s load %s\n' "$b" \
        "$(calc "($c1 - $c0) * 1e6 / $RECORDS" 2)" "$hwm" "$per1k" "$(cut -d' ' -f1 /proc/loadavg)"
}

main() {
    [[ $# -ge 1 ]] || die "usage: $0 BUILD_DIR [BUILD_DIR...]"
    command -v perf > /dev/null || die "perf is required"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/cloudlog-drainf.XXXXXX")
    prefill "$1"
    local r b
    for ((r = 1; r <= ROUNDS; r++)); do
        for b in "$@"; do run_one "$b"; done
    done
}

main "$@"
