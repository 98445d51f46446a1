#!/usr/bin/env bash
# run_ingest.sh - ingest benchmark: runs `cloudlog serve` under bench_loadgen for several configs and compares them.
#
# Configs (CONFIGS, default "baseline gzip process"):
#   baseline  --durability full, NDJSON bodies
#   gzip      --durability full, gzip bodies (Content-Encoding: gzip)
#   process   --durability process, NDJSON bodies
# Each config gets a fresh daemon and data directory; the baseline runs in the same invocation,
# so the table compares like with like on this machine.
#
# Ingest alone: the daemon runs with --no-processor by default, so no processor thread
# competes for the cores and messages simply stay queued (bench/run_e2e.sh measures POST to
# stored object). Setting SERVE_ARGS (even to "") replaces that default; include
# --no-processor in it to keep ingest alone.
#
# Environment overrides (defaults in brackets):
#   DURATION [10] measured seconds   WARMUP [2]   CONNECTIONS [16]   BATCH [1000]   SEED [1]
#   THREADS [loadgen default]        GZIP_LEVEL [6]   CONFIGS   BUILD_DIR [build-release]
#   SERVE_ARGS [--no-processor] (extra `cloudlog serve` options)   LOADGEN_ARGS (extra loadgen options)
#   READY_TIMEOUT [30] s to wait for the daemon   STOP_TIMEOUT [30] s before SIGKILL
#   SKIP_BUILD [0]   KEEP_LOGS [0] (keep the temp dir with daemon logs and JSON results)
#   REPEAT [1] rounds; each round runs every config once, so background load hits all alike
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-16}
BATCH=${BATCH:-1000}
SEED=${SEED:-1}
THREADS=${THREADS:-}
GZIP_LEVEL=${GZIP_LEVEL:-6}
CONFIGS=${CONFIGS:-baseline gzip process}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-release}
SERVE_ARGS=${SERVE_ARGS-"--no-processor"}
LOADGEN_ARGS=${LOADGEN_ARGS:-}
READY_TIMEOUT=${READY_TIMEOUT:-30}
STOP_TIMEOUT=${STOP_TIMEOUT:-30}
SKIP_BUILD=${SKIP_BUILD:-0}
KEEP_LOGS=${KEEP_LOGS:-0}
REPEAT=${REPEAT:-1}

CLOUDLOG=$BUILD_DIR/cloudlog
LOADGEN=$BUILD_DIR/bench/bench_loadgen

loadgen_pid=""

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

cleanup() {
    stop_child loadgen_pid
    stop_server_quiet
    remove_tmp "$KEEP_LOGS"
}
set_traps

# Runs one config in round $2; leaves its JSON summary in $tmp/NAME.ROUND.tagged.json.
run_config() {
    local name=$1 id=$1.$2 label=$1 durability=full gzip=() rc=0
    ((REPEAT == 1)) || label="$1#$2"
    case "$name" in
    baseline) ;;
    gzip) gzip=(--gzip --gzip-level "$GZIP_LEVEL") ;;
    process) durability=process ;;
    *) die "unknown config '$name' (baseline, gzip, process)" ;;
    esac
    start_server "$tmp/$id/serve.log" "$tmp/$id/data" --durability "$durability"
    log "$label: daemon pid $server_pid on $addr (durability $durability${gzip:+, gzip bodies})"
    local args=(--url "http://$addr/v1/logs" --connections "$CONNECTIONS" --duration "$DURATION"
        --warmup "$WARMUP" --batch "$BATCH" --seed "$SEED" --server-pid "$server_pid" --json)
    [[ -z "$THREADS" ]] || args+=(--threads "$THREADS")
    # shellcheck disable=SC2086
    "$LOADGEN" "${args[@]}" "${gzip[@]}" $LOADGEN_ARGS > "$tmp/$id.json" &
    loadgen_pid=$!
    wait "$loadgen_pid" || rc=$?
    loadgen_pid=""
    local data_mb
    data_mb=$(du -sm "$tmp/$id/data" | cut -f1)
    stop_server_quiet
    [[ "$server_status" == 0 ]] || log "$label: daemon exited with status $server_status (expected 0)"
    [[ "$rc" == 0 ]] || log "$label: loadgen exited with status $rc (no successful request?)"
    jq -c --arg n "$label" --arg d "$durability" --argjson mb "${data_mb:-0}" \
        --argjson st "$server_status" '. + {config: $n, durability: $d, data_mb: $mb, exit: $st}' \
        "$tmp/$id.json" > "$tmp/$id.tagged.json" || die "$label: loadgen printed no summary"
    jq -r '"  \(.ok) ok, \(.status_503) 503, \(.status_429) 429, \(.status_other) other non-2xx, \(.errors + .timeouts + .connect_errors) errors; " +
        "\(.events_per_s) events/s, \(.mb_per_s) MB/s, p99 \(.p99_ms) ms, " +
        "server cpu \(.server_cpu_pct // "n/a")%"' "$tmp/$id.tagged.json" >&2
    rm -rf "$tmp/$id/data"
}

print_table() {
    local files=() r name
    for ((r = 1; r <= REPEAT; r++)); do
        for name in $CONFIGS; do files+=("$tmp/$name.$r.tagged.json"); done
    done
    echo
    echo "ingest benchmark: $(nproc) cores, ${CONNECTIONS} connections, ${BATCH} records/request," \
        "${DURATION}s measured after ${WARMUP}s warm-up, seed ${SEED}"
    jq -rs '
      (.[0].events_per_s) as $base
      | (["config", "durab", "req/s", "events/s", "vs 1st", "MB/s", "wire MB/s", "p50 ms", "p99 ms",
          "p99.9 ms", "max ms", "503", "429", "other", "errors", "srv cpu%", "srv peak MiB", "cli cpu%", "data MB"]),
        (.[] | [.config, .durability, .req_per_s, .events_per_s,
                (if $base > 0 then (.events_per_s / $base * 100 | round | tostring) + "%" else "-" end),
                .mb_per_s, .wire_mb_per_s, .p50_ms, .p99_ms, .p999_ms, .max_ms, .status_503, .status_429, .status_other,
                (.errors + .timeouts + .connect_errors), (.server_cpu_pct // "-"),
                (.server_peak_rss_mib // "-"), .client_cpu_pct, .data_mb])
      | @tsv' "${files[@]}" | column -t -s $'\t'
}

main() {
    command -v jq > /dev/null || die "jq is required"
    command -v curl > /dev/null || die "curl is required"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/cloudlog-bench.XXXXXX")
    build cloudlog bench_loadgen
    [[ -x "$CLOUDLOG" && -x "$LOADGEN" ]] || die "missing $CLOUDLOG or $LOADGEN"
    local r name
    for ((r = 1; r <= REPEAT; r++)); do
        for name in $CONFIGS; do run_config "$name" "$r"; done
    done
    print_table
}

main "$@"
