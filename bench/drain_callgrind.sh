#!/usr/bin/env bash
# drain_callgrind.sh - instructions per record of the processor over a drain, by callgrind:
# a figure that does not move with the machine's load, for comparing two builds.
#
#   bench/drain_callgrind.sh [BUILD_DIR...]
#
# For each build (default build-release): RECORDS records are queued by that build's own
# `cloudlog serve --no-processor` (bench_loadgen, 1000 records per request, 20 services,
# timestamps of the last minute: retried if they straddle an hour, which would double the
# partitions), then a daemon with processors drains them under
# `valgrind --tool=callgrind --toggle-collect=cl_processor_step` (only the processor
# threads' steps are counted: receive, decode or index, commit, delete) until the queue is
# empty and every object published. Prints instructions per record, objects, and the
# share of the top functions (inclusive) of the processor's instructions.
#
# Environment: RECORDS [300000]  SERVE_ARGS ["--analytics off"]  TOP [12]  KEEP_LOGS [0]
#   LOADGEN_ARGS (extra bench_loadgen options, e.g. --templated)
#   CALLGRIND_ARGS ["--toggle-collect=cl_processor_step"]; set empty to count every thread
#   of the daemon (with analytics on: its observer and writer threads too)
#   DRAIN_TIMEOUT [600] s   READY_TIMEOUT [60]   STOP_TIMEOUT [120]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RECORDS=${RECORDS:-300000}
SERVE_ARGS=${SERVE_ARGS:---analytics off}
TOP=${TOP:-12}
LOADGEN_ARGS=${LOADGEN_ARGS:-}
CALLGRIND_ARGS=${CALLGRIND_ARGS---toggle-collect=cl_processor_step}
KEEP_LOGS=${KEEP_LOGS:-0}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-600}
READY_TIMEOUT=${READY_TIMEOUT:-60}
STOP_TIMEOUT=${STOP_TIMEOUT:-120}
SKIP_BUILD=1
BUILD_DIR=""
CLOUDLOG=""
loadgen_pid=""

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
tmp=$(mktemp -d)
cleanup() {
    stop_child loadgen_pid
    stop_server
    remove_tmp "$KEEP_LOGS"
}
set_traps
command -v valgrind > /dev/null || die "valgrind is not installed"

# prefill DATA: RECORDS records in one hour, queued by $CLOUDLOG --no-processor.
prefill() {
    local data=$1 try hours
    for try in 1 2 3; do
        rm -rf "$data"
        SERVE_ARGS="" start_server "$tmp/prefill.log" "$data" --no-processor
        "$BUILD_DIR/bench/bench_loadgen" --url "http://$addr/v1/logs" --connections 4 \
            --batch 1000 --seed 1 --requests $((RECORDS / 1000)) --duration 600 --json \
            $LOADGEN_ARGS > "$tmp/prefill.json" &
        loadgen_pid=$!
        wait "$loadgen_pid"
        loadgen_pid=""
        stop_server
        hours=$(sql "$data" "SELECT count(DISTINCT min_ts / 3600000) + count(DISTINCT max_ts / 3600000) FROM messages")
        [[ "$hours" == 2 ]] && return 0
        log "the records straddle an hour (try $try); queuing again"
        sleep 30
    done
    die "could not queue records within one hour"
}

for BUILD_DIR in "${@:-$ROOT/build-release}"; do
    CLOUDLOG=$BUILD_DIR/cloudlog
    data=$tmp/data
    prefill "$data"
    msgs=$(sql "$data" "SELECT count(*) FROM messages")
    out=$tmp/callgrind.out
    rm -f "$out"
    # shellcheck disable=SC2086
    # --trace-children: a lean `cloudlog` binary may exec the full one for `serve`
    valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$out" $CALLGRIND_ARGS \
        "$CLOUDLOG" serve --listen 127.0.0.1:0 --data "$data" $SERVE_ARGS 2> "$tmp/drain.log" &
    server_pid=$!
    wait_ready "$tmp/drain.log"
    for ((i = 0; i < DRAIN_TIMEOUT * 2; i++)); do
        IFS='|' read -r depth stored _ unpub <<< "$(snapshot "$data")"
        ((depth == 0 && unpub == 0 && stored >= RECORDS)) && break
        sleep 0.5
    done
    ((depth == 0 && unpub == 0 && stored >= RECORDS)) || die "drain not finished: $depth queued, $stored stored"
    stop_server
    objects=$(sql "$data" "SELECT count(*) FROM objects")
    [[ -s "$out" ]] || die "callgrind wrote no profile to $out"
    total=$(callgrind_annotate "$out" 2> /dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    echo "build $BUILD_DIR ($(git -C "$BUILD_DIR/.." rev-parse --short HEAD 2> /dev/null || echo '?')):" \
        "$RECORDS records in $msgs messages -> $objects objects;" \
        "instructions ($CALLGRIND_ARGS) $total, per record $(calc "$total / $RECORDS" 0)"
    callgrind_annotate --inclusive=yes "$out" 2> /dev/null |
        awk -v t="$total" -v top="$TOP" '/^ *[0-9,]+ .*:/ { n = $1; gsub(",", "", n);
            if (n + 0 > 0 && shown < top) { sub(/^ *[0-9,]+ +(\([^)]*\) +)?/, ""); printf "  %5.1f%%  %s\n", 100 * n / t, $0; shown++ } }'
done
