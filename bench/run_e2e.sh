#!/usr/bin/env bash
# run_e2e.sh - end-to-end benchmark: POST /v1/logs to stored object, with the processor on.
#
# Three parts, each with a fresh daemon and data directory, loopback only:
#   steady  A short ramp of fixed offered rates (bench_loadgen --rate, RATES requests/s of
#           BATCH records) against one daemon; the queue depth (SELECT count(*) FROM messages)
#           is sampled every second and a rate passes while the depth's least-squares slope over
#           the step stays under SLOPE_PCT% of the offered messages/s, with no 503/429 and
#           >= 97% of the rate delivered. The first rate runs WARMUP s unsampled first (depth
#           rises until buffers reach --flush-age/--flush-size). The ramp stops at the first failure.
#           Then a new daemon takes the highest passing rate for WARMUP + DURATION seconds:
#           ingest events/s and latency (loadgen), stored records/s (delta of SUM(records)
#           FROM objects WHERE published = 1 over the measured window), queue depth at start
#           and end of the window, server CPU and peak RSS (VmHWM).
#   drain   DRAIN_RECORDS records are queued by a daemon run with --no-processor; it is
#           stopped, and a daemon with processors on is started on the same data directory.
#           Measured from its start to "no message left and every object published" (polled
#           every 0.25 s): records/s and raw MB/s, server CPU, peak RSS. The "bulk" rate is
#           the one between 10% and 90% of the records stored (it leaves out start-up and
#           the tail of the last partial buffers, flushed once the queue has idled 1 s).
#   overload  One daemon offered OVERLOAD_RATE requests/s (default 2x the steady part's rate,
#           else 2x RATE; one of them is required) for WARMUP + DURATION seconds, with a queue
#           bound of OVERLOAD_MAX_DEPTH messages (--queue-max-depth) so the queue fills within
#           the run: accepted and stored records/s, 503/429 answers, whether a 503 carried
#           Retry-After (one curl POST per second in the window), server peak RSS (VmHWM).
#   floor   The stored objects of the drain, decompressed (gzip -dc) and concatenated into one
#           file (at most FLOOR_MB, a prefix of the same bytes), then `gzip -1 -c > /dev/null`
#           and `gzip -6 -c > /dev/null` over it, one core each: compression alone, the floor
#           for writing those bytes as gzip objects. Printed next to the drain's MB/s per core.
#
# Environment overrides (defaults in brackets):
#   RATES ["100 150 200 250 300 400"] requests/s tried in the ramp, ascending
#   STEP [30] s sampled per ramp rate
#   SLOPE_PCT [5]   RATE [unset: from the ramp] skip the ramp and use this rate
#   WARMUP [15] s before the measured window   DURATION [30] measured seconds
#   CONNECTIONS [16]   BATCH [1000]   SEED [1]   DRAIN_RECORDS [5000000]   DRAIN_TIMEOUT [600] s
#   FLOOR_MB [512]   PARTS ["steady drain floor"] (floor needs drain; also: overload)
#   OVERLOAD_RATE [2x steady]   OVERLOAD_MAX_DEPTH [1000] messages
#   PERF [0] 1: `perf record -g` the drain daemon for PERF_SECONDS [8] and print the top symbols
#   SYSCALLS [0] 1: count the drain daemon's pwrite64/fsync/fdatasync calls (perf stat on the
#           syscall tracepoints) and bytes written (/proc/PID/io wchar), per 1 M records
#   BUILD_DIR [build-release]   SERVE_ARGS (extra `cloudlog serve` options, every daemon)
#   LOADGEN_ARGS (extra bench_loadgen options, e.g. --templated: messages from templates)
#   READY_TIMEOUT [30]   STOP_TIMEOUT [60] s before SIGKILL   SKIP_BUILD [0]   KEEP_LOGS [0]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

RATES=${RATES:-100 150 200 250 300 400}
STEP=${STEP:-30}
SLOPE_PCT=${SLOPE_PCT:-5}
RATE=${RATE:-}
WARMUP=${WARMUP:-15}
DURATION=${DURATION:-30}
CONNECTIONS=${CONNECTIONS:-16}
BATCH=${BATCH:-1000}
SEED=${SEED:-1}
DRAIN_RECORDS=${DRAIN_RECORDS:-5000000}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-600}
OVERLOAD_RATE=${OVERLOAD_RATE:-}
OVERLOAD_MAX_DEPTH=${OVERLOAD_MAX_DEPTH:-1000}
FLOOR_MB=${FLOOR_MB:-512}
PARTS=${PARTS:-steady drain floor}
PERF=${PERF:-0}
PERF_SECONDS=${PERF_SECONDS:-8}
SYSCALLS=${SYSCALLS:-0}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-release}
SERVE_ARGS=${SERVE_ARGS:-}
LOADGEN_ARGS=${LOADGEN_ARGS:-}
READY_TIMEOUT=${READY_TIMEOUT:-30}
STOP_TIMEOUT=${STOP_TIMEOUT:-60}
SKIP_BUILD=${SKIP_BUILD:-0}
KEEP_LOGS=${KEEP_LOGS:-0}

CLOUDLOG=$BUILD_DIR/cloudlog
LOADGEN=$BUILD_DIR/bench/bench_loadgen
loadgen_pid=""
perf_pid=""
declare -A R=() # results, printed in the summary

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

now() { date +%s.%N; }

cleanup() {
    stop_child perf_pid
    stop_child loadgen_pid
    stop_server
    remove_tmp "$KEEP_LOGS"
}
set_traps

# run_loadgen OUT [loadgen options...]: in the background; sets loadgen_pid.
run_loadgen() {
    local out=$1
    shift
    "$LOADGEN" --url "http://$addr/v1/logs" --connections "$CONNECTIONS" --batch "$BATCH" \
        --seed "$SEED" --server-pid "$server_pid" --json $LOADGEN_ARGS "$@" > "$out" &
    loadgen_pid=$!
}
wait_loadgen() {
    local rc=0
    wait "$loadgen_pid" || rc=$?
    loadgen_pid=""
    [[ "$rc" == 0 ]] || log "loadgen exited with status $rc"
}

# ramp_step RATE DATA LEAD: RATE req/s for LEAD s unsampled + STEP s sampled; sets verdict.
ramp_step() {
    local rate=$1 data=$2 lead=$3 out=$tmp/ramp.$1.json samples=$tmp/ramp.$1.depth i t0
    run_loadgen "$out" --rate "$rate" --warmup "$lead" --duration "$STEP"
    sleep "$lead"
    t0=$(now)
    : > "$samples"
    for ((i = 0; i < STEP; i++)); do
        sleep 1
        echo "$(calc "$(now) - $t0" 2) $(snapshot "$data" | cut -d'|' -f1)" >> "$samples"
    done
    wait_loadgen
    # least-squares slope of depth (messages/s) over the step
    local slope
    slope=$(awk '{ n++; sx += $1; sy += $2; sxx += $1 * $1; sxy += $1 * $2 }
        END { d = n * sxx - sx * sx; printf "%.1f", (n > 2 && d > 0) ? (n * sxy - sx * sy) / d : 0 }' "$samples")
    local got refused depth
    got=$(jq -r '.req_per_s' "$out" 2>/dev/null || echo 0)
    refused=$(jq -r '.status_503 + .status_429 + .status_other + .errors + .timeouts' "$out" 2>/dev/null || echo 1)
    depth=$(tail -n 1 "$samples" | cut -d' ' -f2)
    verdict=pass
    if awk -v s="$slope" -v r="$rate" -v p="$SLOPE_PCT" -v g="$got" -v f="$refused" \
        'BEGIN { exit !(s > r * p / 100 || g < 0.97 * r || f > 0) }'; then
        verdict=fail
    fi
    log "ramp $rate req/s ($((rate * BATCH)) records/s): delivered $got req/s, depth $depth at end, slope $slope msgs/s, $refused refused/failed -> $verdict"
}

part_steady() {
    local rate=$RATE data verdict r lead=$WARMUP
    if [[ -z "$rate" ]]; then
        data=$tmp/ramp/data
        start_server "$tmp/ramp.serve.log" "$data"
        log "ramp: daemon pid $server_pid on $addr, ${STEP}s per rate"
        for r in $RATES; do
            ramp_step "$r" "$data" "$lead"
            lead=0
            [[ "$verdict" == pass ]] || break
            rate=$r
        done
        stop_server
        rm -rf "$tmp/ramp"
        [[ -n "$rate" ]] || die "no rate in RATES passed; try lower RATES"
    fi
    R[steady_rate]=$rate
    data=$tmp/steady/data
    start_server "$tmp/steady.serve.log" "$data"
    log "steady: $rate req/s for ${WARMUP}s + ${DURATION}s, daemon pid $server_pid on $addr"
    run_loadgen "$tmp/steady.json" --rate "$rate" --warmup "$WARMUP" --duration "$DURATION"
    sleep "$WARMUP"
    local a b t0 t1
    t0=$(now)
    a=$(snapshot "$data")
    sleep "$DURATION"
    t1=$(now)
    b=$(snapshot "$data")
    wait_loadgen
    R[steady_hwm]=$(hwm_mib "$server_pid")
    stop_server
    local win stored
    win=$(calc "$t1 - $t0" 3)
    stored=$(($(cut -d'|' -f2 <<< "$b") - $(cut -d'|' -f2 <<< "$a")))
    R[steady_events]=$(jq -r '.events_per_s' "$tmp/steady.json")
    R[steady_stored]=$(calc "$stored / $win" 0)
    R[steady_depth]="$(cut -d'|' -f1 <<< "$a") -> $(cut -d'|' -f1 <<< "$b")"
    R[steady_cpu]=$(jq -r '.server_cpu_pct' "$tmp/steady.json")
    R[steady_p50]=$(jq -r '.p50_ms' "$tmp/steady.json")
    R[steady_p99]=$(jq -r '.p99_ms' "$tmp/steady.json")
    R[steady_refused]=$(jq -r '.status_503 + .status_429 + .status_other + .errors + .timeouts' "$tmp/steady.json")
    R[steady_mb]=$(jq -r '.mb_per_s' "$tmp/steady.json")
    log "steady: ${R[steady_events]} ingested/s, ${R[steady_stored]} stored/s, depth ${R[steady_depth]}"
    rm -rf "$tmp/steady"
}

part_drain() {
    local data=$tmp/drain/data requests=$(((DRAIN_RECORDS + BATCH - 1) / BATCH))
    start_server "$tmp/prefill.serve.log" "$data" --no-processor
    log "drain: queuing $((requests * BATCH)) records (--no-processor, pid $server_pid)"
    run_loadgen "$tmp/prefill.json" --requests "$requests" --duration 600
    wait_loadgen
    stop_server
    local queued
    queued=$(sql "$data" "SELECT count(*), sum(record_count), sum(raw_bytes) FROM messages")
    R[drain_msgs]=$(cut -d'|' -f1 <<< "$queued")
    R[drain_records]=$(cut -d'|' -f2 <<< "$queued")
    log "drain: queued ${R[drain_msgs]} messages, ${R[drain_records]} records; starting the processor"

    local t0 t_ready c0 s t p10="" p90="" done=0 i
    t0=$(now)
    start_server "$tmp/drain.serve.log" "$data"
    t_ready=$(now)
    c0=$(cpu_s "$server_pid")
    local w0 sc_pid=""
    w0=$(awk '/^wchar/ { print $2 }' "/proc/$server_pid/io")
    if [[ "$SYSCALLS" == 1 ]]; then
        perf stat -x, -o "$tmp/syscalls.csv" -p "$server_pid" -e syscalls:sys_enter_pwrite64 \
            -e syscalls:sys_enter_fsync -e syscalls:sys_enter_fdatasync > /dev/null 2>&1 &
        sc_pid=$!
    fi
    if [[ "$PERF" == 1 ]] && command -v perf > /dev/null; then
        perf record -F 499 -g -p "$server_pid" -o "$tmp/perf.data" -- sleep "$PERF_SECONDS" \
            > "$tmp/perf.log" 2>&1 &
        perf_pid=$!
    fi
    local total=${R[drain_records]}
    : > "$tmp/drain.samples"
    for ((i = 0; i < DRAIN_TIMEOUT * 4; i++)); do
        s=$(snapshot "$data")
        t=$(calc "$(now) - $t0" 3)
        echo "$t $s $(cpu_s "$server_pid")" >> "$tmp/drain.samples"
        local depth stored unpub
        IFS='|' read -r depth stored _ unpub <<< "$s"
        [[ -n "$p10" ]] || ((stored * 10 < total)) || p10="$t $stored"
        [[ -n "$p90" ]] || ((stored * 10 < total * 9)) || p90="$t $stored"
        if ((depth == 0 && unpub == 0 && stored >= total)); then done=1; break; fi
        sleep 0.25
    done
    local t_end c1
    t_end=$(now)
    c1=$(cpu_s "$server_pid")
    R[drain_hwm]=$(hwm_mib "$server_pid")
    R[drain_wmb]=$(calc "($(awk '/^wchar/ { print $2 }' "/proc/$server_pid/io") - $w0) / 1e6" 1)
    if [[ -n "$sc_pid" ]]; then
        kill -INT "$sc_pid" 2> /dev/null || true
        wait "$sc_pid" 2> /dev/null || true
        R[drain_syscalls]=$(awk -F, -v n="${R[drain_records]}" '$3 ~ /sys_enter/ {
            sub(/.*sys_enter_/, "", $3); printf "%s %.0f  ", $3, $1 * 1e6 / n }' "$tmp/syscalls.csv")
    fi
    ((done)) || log "drain: not finished after ${DRAIN_TIMEOUT}s ($(tail -n 1 "$tmp/drain.samples"))"
    if [[ -n "$perf_pid" ]]; then
        wait "$perf_pid" 2>/dev/null || true
        perf_pid=""
        log "drain: perf, top symbols (self) over the first ${PERF_SECONDS}s:"
        perf report -i "$tmp/perf.data" --stdio --no-children --sort dso,symbol 2>/dev/null |
            grep -E '^ +[0-9.]+%' | head -n 25 >&2 || true
    fi
    stop_server
    local wall raw
    wall=$(calc "$t_end - $t0" 3)
    raw=$(sql "$data" "SELECT sum(raw_bytes), sum(bytes), count(*) FROM objects WHERE published = 1")
    R[drain_raw]=$(cut -d'|' -f1 <<< "$raw")
    R[drain_objects]=$(cut -d'|' -f3 <<< "$raw")
    R[drain_ratio]=$(calc "$(cut -d'|' -f1 <<< "$raw") / $(cut -d'|' -f2 <<< "$raw")" 2)
    R[drain_wall]=$wall
    R[drain_startup]=$(calc "$t_ready - $t0" 2)
    R[drain_rps]=$(calc "$total / $wall" 0)
    R[drain_mbs]=$(calc "${R[drain_raw]} / 1e6 / $wall" 1)
    R[drain_cores]=$(calc "($c1 - $c0) / ($t_end - $t_ready)" 2)
    R[drain_mbs_core]=$(calc "${R[drain_mbs]} / ${R[drain_cores]}" 1)
    R[drain_cpu_per_m]=$(calc "($c1 - $c0) * 1e6 / $total" 2)
    if [[ -n "$p10" && -n "$p90" ]]; then
        local ta ra tb rb
        read -r ta ra <<< "$p10"
        read -r tb rb <<< "$p90"
        R[drain_bulk_rps]=$(calc "($rb - $ra) / ($tb - $ta)" 0)
        R[drain_bulk_mbs]=$(calc "($rb - $ra) / ($tb - $ta) * ${R[drain_raw]} / $total / 1e6" 1)
        # CPU over the same 10%..90% stretch, from the samples
        R[drain_bulk_cores]=$(awk -v a="$ta" -v b="$tb" '$1 == a { ca = $3 } $1 == b { cb = $3 }
            END { printf "%.2f", (cb - ca) / (b - a) }' "$tmp/drain.samples")
        R[drain_bulk_mbs_core]=$(calc "${R[drain_bulk_mbs]} / ${R[drain_bulk_cores]}" 1)
    fi
    log "drain: ${R[drain_records]} records in ${wall}s, ${R[drain_rps]} records/s, ${R[drain_mbs]} MB/s raw"
}

# probe_retry_after OUT: one POST of BATCH generated records per second while loadgen runs;
# appends "status retry-after" lines to OUT.
probe_retry_after() {
    local out=$1 body=$tmp/probe.ndjson i
    for ((i = 0; i < BATCH; i++)); do
        printf '{"timestamp":"%s","level":"info","service":"probe","message":"overload probe %d"}\n' \
            "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" "$i"
    done > "$body"
    while [[ -n "$loadgen_pid" ]] && alive "$loadgen_pid"; do
        curl -s -o /dev/null -D - --max-time 5 -H 'Content-Type: application/x-ndjson' \
            --data-binary "@$body" "http://$addr/v1/logs" 2> /dev/null |
            awk 'NR == 1 { s = $2 } tolower($1) == "retry-after:" { r = $2 } END { print s, (r == "" ? "-" : r) }' \
                >> "$out" || true
        sleep 1
    done
}

part_overload() {
    local rate=${OVERLOAD_RATE:-}
    if [[ -z "$rate" ]]; then
        local base=${R[steady_rate]:-$RATE}
        [[ -n "$base" ]] || die "overload needs OVERLOAD_RATE, RATE, or the steady part before it"
        rate=$((base * 2))
    fi
    local data=$tmp/overload/data probes=$tmp/overload.probes
    start_server "$tmp/overload.serve.log" "$data" --queue-max-depth "$OVERLOAD_MAX_DEPTH"
    log "overload: $rate req/s for ${WARMUP}s + ${DURATION}s, queue bound $OVERLOAD_MAX_DEPTH messages, pid $server_pid"
    : > "$probes"
    run_loadgen "$tmp/overload.json" --rate "$rate" --warmup "$WARMUP" --duration "$DURATION"
    local t0 a b t1
    t0=$(now)
    a=$(snapshot "$data")
    probe_retry_after "$probes"
    wait_loadgen
    t1=$(now)
    b=$(snapshot "$data")
    R[overload_hwm]=$(hwm_mib "$server_pid")
    stop_server
    R[overload_rate]=$rate
    R[overload_events]=$(jq -r '.events_per_s' "$tmp/overload.json")
    R[overload_stored]=$(calc "($(cut -d'|' -f2 <<< "$b") - $(cut -d'|' -f2 <<< "$a")) / ($t1 - $t0)" 0)
    R[overload_503]=$(jq -r '.status_503 + .status_429' "$tmp/overload.json")
    R[overload_cpu]=$(jq -r '.server_cpu_pct' "$tmp/overload.json")
    R[overload_probes]="$(awk '$1 == 503 && $2 != "-"' "$probes" | wc -l) of $(awk '$1 == 503' "$probes" | wc -l) probe 503s had Retry-After ($(wc -l < "$probes") probes)"
    log "overload: ${R[overload_events]} accepted/s, ${R[overload_stored]} stored/s, ${R[overload_503]} 503/429, ${R[overload_probes]}, peak ${R[overload_hwm]} MiB"
    rm -rf "$tmp/overload"
}

part_floor() {
    local data=$tmp/drain/data file=$tmp/floor.ndjson
    [[ -d "$data/logs" ]] || die "floor needs the drain's objects (PARTS must include drain)"
    find "$data/logs" -name '*.ndjson.gz' -print0 | sort -z | xargs -0 cat 2> /dev/null | gzip -dc 2> /dev/null |
        head -c $((FLOOR_MB * 1000000)) > "$file" || true
    local bytes
    bytes=$(stat -c %s "$file")
    R[floor_mb]=$(calc "$bytes / 1e6" 0)
    local lvl out
    for lvl in 1 6; do
        out=$(/usr/bin/time -f '%e %U %S' gzip "-$lvl" -c "$file" 2>&1 > /dev/null | tail -n 1)
        local e u s
        read -r e u s <<< "$out"
        R[floor_$lvl]=$(calc "$bytes / 1e6 / $e" 1)
        R[floor_${lvl}_cpu]=$(calc "$bytes / 1e6 / ($u + $s)" 1)
        log "floor: gzip -$lvl: $bytes bytes in ${e}s (${R[floor_$lvl]} MB/s)"
    done
    rm -f "$file"
}

print_summary() {
    echo
    echo "end-to-end benchmark: $(nproc) cores, ${CONNECTIONS} connections, ${BATCH} records/request, seed ${SEED}"
    if [[ -n "${R[steady_rate]:-}" ]]; then
        echo
        echo "steady state: offered ${R[steady_rate]} req/s = $((R[steady_rate] * BATCH)) records/s," \
            "${DURATION}s measured after ${WARMUP}s"
        {
            printf 'ingested events/s\tMB/s raw\tstored records/s\tqueue depth (msgs)\tp50 ms\tp99 ms\trefused/failed\tsrv cpu%%\tsrv peak MiB\n'
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${R[steady_events]}" "${R[steady_mb]}" \
                "${R[steady_stored]}" "${R[steady_depth]}" "${R[steady_p50]}" "${R[steady_p99]}" \
                "${R[steady_refused]}" "${R[steady_cpu]}" "${R[steady_hwm]}"
        } | column -t -s $'\t'
    fi
    if [[ -n "${R[drain_wall]:-}" ]]; then
        echo
        echo "drain: ${R[drain_records]} records in ${R[drain_msgs]} messages -> ${R[drain_objects]} objects" \
            "(raw/stored ${R[drain_ratio]}); start-up ${R[drain_startup]}s included"
        echo "drain: server CPU ${R[drain_cpu_per_m]} s per 1 M records;" \
            "$(calc "${R[drain_wmb]} * 1e6 / ${R[drain_records]}" 1) MB written per 1 M records" \
            "${R[drain_syscalls]:+; per 1 M records: ${R[drain_syscalls]}}"
        {
            printf 'stretch\tseconds\trecords/s\tMB/s raw\tsrv cores\tMB/s per core\tsrv peak MiB\n'
            printf 'start to empty+published\t%s\t%s\t%s\t%s\t%s\t%s\n' "${R[drain_wall]}" "${R[drain_rps]}" \
                "${R[drain_mbs]}" "${R[drain_cores]}" "${R[drain_mbs_core]}" "${R[drain_hwm]}"
            [[ -z "${R[drain_bulk_rps]:-}" ]] ||
                printf '10%%..90%% stored\t-\t%s\t%s\t%s\t%s\t-\n' "${R[drain_bulk_rps]}" \
                    "${R[drain_bulk_mbs]}" "${R[drain_bulk_cores]}" "${R[drain_bulk_mbs_core]}"
        } | column -t -s $'\t'
    fi
    if [[ -n "${R[overload_rate]:-}" ]]; then
        echo
        echo "overload: offered ${R[overload_rate]} req/s = $((R[overload_rate] * BATCH)) records/s," \
            "queue bound $OVERLOAD_MAX_DEPTH messages, ${WARMUP}s + ${DURATION}s"
        {
            printf 'accepted events/s\tstored records/s\t503/429 answers\tRetry-After\tsrv cpu%%\tsrv peak MiB\n'
            printf '%s\t%s\t%s\t%s\t%s\t%s\n' "${R[overload_events]}" "${R[overload_stored]}" \
                "${R[overload_503]}" "${R[overload_probes]}" "${R[overload_cpu]}" "${R[overload_hwm]}"
        } | column -t -s $'\t'
    fi
    if [[ -n "${R[floor_1]:-}" ]]; then
        echo
        echo "floor: the same bytes (${R[floor_mb]} MB of the drain's objects, decompressed), one core each"
        {
            printf 'compressor\tMB/s (wall)\tMB/s per CPU second\n'
            printf 'gzip -1\t%s\t%s\n' "${R[floor_1]}" "${R[floor_1_cpu]}"
            printf 'gzip -6\t%s\t%s\n' "${R[floor_6]}" "${R[floor_6_cpu]}"
            printf 'drain, per core used\t%s\t(bulk %s)\n' "${R[drain_mbs_core]:-"-"}" "${R[drain_bulk_mbs_core]:-"-"}"
        } | column -t -s $'\t'
    fi
}

main() {
    local c
    for c in jq curl sqlite3 gzip awk; do command -v "$c" > /dev/null || die "$c is required"; done
    [[ -x /usr/bin/time ]] || die "/usr/bin/time is required (apt-get install time)"
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/cloudlog-e2e.XXXXXX")
    build cloudlog bench_loadgen
    [[ -x "$CLOUDLOG" && -x "$LOADGEN" ]] || die "missing $CLOUDLOG or $LOADGEN"
    "$LOADGEN" --help | grep -q -- --rate || die "$LOADGEN has no --rate (rebuild it)"
    log "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    local p
    for p in $PARTS; do
        case "$p" in
        steady) part_steady ;;
        drain) part_drain ;;
        floor) part_floor ;;
        overload) part_overload ;;
        *) die "unknown part '$p' (steady, drain, overload, floor)" ;;
        esac
    done
    print_summary
}

main "$@"
