#!/usr/bin/env bash
# run_query.sh - query benchmark: scan rate of `cloudlog query` over a store of >= 1 GiB
# (uncompressed), against `gzip -dc | grep -c`, `zgrep -c` and DuckDB on the same files in
# the same run, plus a 15-minute one-service query.
#
# Store: a daemon (`cloudlog serve`, default processor settings, loopback) takes RECORDS
# records from bench_query_gen (bench/query_gen.c: the shared generator's ~273-byte
# records, 20 services, timestamps spread evenly over the SPAN_HOURS hours ending now, in
# time order) and runs until the queue is empty and every object is published; then it is
# stopped. With KEEP_STORE=DIR the data directory DIR is kept, and reused as it is when it
# already holds a store (building takes ~1 min); otherwise a temporary one is removed.
#
# Measurements (each RUNS times in a row; best and median wall time; warm page cache:
# nothing is dropped, every file has just been read): over every published object,
#   full scan   cloudlog query --count --grep TEXT --since 48h (--from/--to over the whole
#               store when it is older than 47 h)
#               the same with --threads 1 (the default is one thread per core)
#               gzip -dc OBJECTS | grep -c TEXT        (the baseline of the ratio)
#               zgrep -c TEXT OBJECTS                  (per-file counts summed)
#               DuckDB: SELECT count(*) FROM logs WHERE contains(message, 'TEXT')
#   regex       the same with --regex RE / grep -cE RE / regexp_matches(message, 'RE')
#   ignore case the same with --grep ITEXT -i / grep -ci ITEXT / message ILIKE '%ITEXT%'
# The counts must agree (TEXT, RE and ITEXT only occur in the message, so a line count and
# DuckDB's row count over `message` are the same thing); a mismatch fails the run.
# MB/s is the store's uncompressed bytes (catalog raw_bytes) over the wall time.
#   15 minutes  cloudlog query --service SERVICE --from T --to T+15m --limit 100 --stats,
#               T = HH:50 of the store's middle hour (the window crosses an hour, so two
#               partitions); and DuckDB's equivalent with hive partition filters
#               (service, dt, hour) + timestamp range, ORDER BY timestamp DESC LIMIT 100.
#               The two results must hold the same records (trace ids compared).
# DuckDB runs through tools/duckdb/query.mjs (Node.js; `scripts/setup.sh` installs it), so
# its times include starting node and binding the view; the summary prints that fixed cost
# (SELECT 1) too. DUCKDB=0 leaves DuckDB out.
#
# Environment overrides (defaults in brackets):
#   RECORDS [4200000] (~1.07 GiB uncompressed)   SPAN_HOURS [24]   SEED [1]
#   TEXT [contention]   RE ['lock (acquired|contention)']   ITEXT [CONTENTION]
#   SERVICE [checkout]   RUNS [3]   KEEP_STORE [unset]   DUCKDB [1]
#   BUILD_DIR [build-release]   SKIP_BUILD [0]   SERVE_ARGS (extra `cloudlog serve` options)
#   READY_TIMEOUT [30]   DRAIN_TIMEOUT [900] s   STOP_TIMEOUT [60] s before SIGKILL
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

RECORDS=${RECORDS:-4200000}
SPAN_HOURS=${SPAN_HOURS:-24}
SEED=${SEED:-1}
TEXT=${TEXT:-contention}
RE=${RE:-lock (acquired|contention)}
ITEXT=${ITEXT:-CONTENTION}
SERVICE=${SERVICE:-checkout}
RUNS=${RUNS:-3}
KEEP_STORE=${KEEP_STORE:-}
DUCKDB=${DUCKDB:-1}
BUILD_DIR=${BUILD_DIR:-$ROOT/build-release}
SKIP_BUILD=${SKIP_BUILD:-0}
SERVE_ARGS=${SERVE_ARGS:-}
READY_TIMEOUT=${READY_TIMEOUT:-30}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-900}
STOP_TIMEOUT=${STOP_TIMEOUT:-60}

CLOUDLOG=$BUILD_DIR/cloudlog
GEN=$BUILD_DIR/bench/bench_query_gen

data=""
declare -A R=() # results: R[name.best], R[name.median], R[name.count]
ROWS=()         # summary rows, in order

# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

now_ns() { date +%s%N; }

cleanup() {
    stop_server
    remove_tmp 0
}
set_traps

# Builds the store in $data: daemon + bench_query_gen, until drained and published.
build_store() {
    local i t0 s
    start_server "$tmp/serve.log" "$data"
    log "store: daemon pid $server_pid on $addr, posting $RECORDS records over ${SPAN_HOURS} h"
    t0=$(now_ns)
    "$GEN" --addr "$addr" --records "$RECORDS" --span-hours "$SPAN_HOURS" --seed "$SEED"
    local done=0 depth unpub stored
    for ((i = 0; i < DRAIN_TIMEOUT * 2; i++)); do
        s=$(snapshot "$data")
        IFS='|' read -r depth stored _ unpub <<< "$s"
        if ((depth == 0 && unpub == 0 && stored >= RECORDS)); then done=1; break; fi
        sleep 0.5
    done
    ((done)) || die "store not drained after ${DRAIN_TIMEOUT}s (depth $depth, unpublished $unpub, stored $stored)"
    log "store: drained and published in $(calc "($(now_ns) - $t0) / 1e9") s (post + process)"
    stop_server
}

# timeit NAME CMD: runs the shell command CMD RUNS times; keeps the last stdout in
# $tmp/NAME.out and checks every run printed the same; sets R[NAME.best], R[NAME.median].
timeit() {
    local name=$1 cmd=$2 r t0 t1 times=()
    for ((r = 1; r <= RUNS; r++)); do
        t0=$(now_ns)
        bash -c "$cmd" > "$tmp/$name.out.$r" 2> "$tmp/$name.err.$r" ||
            { cat "$tmp/$name.err.$r" >&2; die "$name: command failed: $cmd"; }
        t1=$(now_ns)
        times+=("$(calc "($t1 - $t0) / 1e9" 4)")
        if ((r > 1)) && ! cmp -s "$tmp/$name.out.1" "$tmp/$name.out.$r"; then
            die "$name: run $r printed something else than run 1"
        fi
    done
    cp "$tmp/$name.out.$RUNS" "$tmp/$name.out"
    cp "$tmp/$name.err.$RUNS" "$tmp/$name.err"
    local sorted
    sorted=$(printf '%s\n' "${times[@]}" | sort -g)
    R[$name.best]=$(head -n 1 <<< "$sorted")
    R[$name.median]=$(sed -n "$(((RUNS + 1) / 2))p" <<< "$sorted")
    log "$name: ${times[*]} s"
}

# scan NAME LABEL CMD: a full-scan measurement whose stdout is a count.
scan() {
    local name=$1 label=$2 cmd=$3
    timeit "$name" "$cmd"
    R[$name.count]=$(tr -d ' \n' < "$tmp/$name.out")
    R[$name.label]=$label
    ROWS+=("$name")
}

# check_counts NAME...: every measurement of one variant found the same number of lines.
check_counts() {
    local first=$1 n
    for n in "$@"; do
        [[ "${R[$n.count]}" == "${R[$first.count]}" ]] ||
            die "count mismatch: $first ${R[$first.count]} vs $n ${R[$n.count]}"
    done
}

q() { printf "'%s'" "${1//\'/\'\\\'\'}"; } # shell quoting for the command strings
sqlq() { printf "'%s'" "${1//\'/\'\'}"; }   # SQL string literal

main() {
    local c
    for c in sqlite3 gzip zgrep grep awk curl; do command -v "$c" > /dev/null || die "$c is required"; done
    if [[ "$DUCKDB" == 1 ]]; then
        if ! command -v node > /dev/null || [[ ! -d "$ROOT/tools/duckdb/node_modules/@duckdb" ]]; then
            die "DuckDB needs node and tools/duckdb/node_modules (scripts/setup.sh), or DUCKDB=0"
        fi
    fi
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/cloudlog-query.XXXXXX")
    build cloudlog bench_query_gen
    [[ -x "$CLOUDLOG" && -x "$GEN" ]] || die "missing $CLOUDLOG or $GEN"
    if [[ -n "$KEEP_STORE" ]]; then
        data=$KEEP_STORE
        if [[ -f "$data/queue.db" ]] && (($(sql "$data" "SELECT count(*) FROM objects WHERE published = 1") > 0)); then
            log "store: reusing $data"
        else
            build_store
        fi
    else
        data=$tmp/data
        build_store
    fi

    # The store, from the catalog; the object list from the file system must match it.
    local cat raw stored nobj nrec min_ts max_ts
    cat=$(sql "$data" "SELECT sum(raw_bytes), sum(bytes), count(*), sum(records), min(min_ts), max(max_ts)
        FROM objects WHERE published = 1")
    IFS='|' read -r raw stored nobj nrec min_ts max_ts <<< "$cat"
    local objects=()
    mapfile -d '' -t objects < <(find "$data/logs" -path "$data/logs/_staging" -prune -o \
        -name '*.ndjson.gz' -print0 | sort -z)
    ((${#objects[@]} == nobj)) || die "catalog lists $nobj published objects, the store holds ${#objects[@]} files"
    ((raw >= 1073741824)) || log "WARNING: store holds $raw bytes uncompressed, under 1 GiB (raise RECORDS)"
    printf '%s\0' "${objects[@]}" > "$tmp/objects"
    R[raw]=$raw
    log "store: $nobj objects, $nrec records, $(calc "$raw / 1048576" 1) MiB uncompressed," \
        "$(calc "$stored / 1048576" 1) MiB stored, $(date -u -d "@$((min_ts / 1000))" +%FT%TZ) .." \
        "$(date -u -d "@$((max_ts / 1000))" +%FT%TZ)"
    local range="--since 48h" now_ms=$(($(date +%s) * 1000))
    if ((min_ts < now_ms - 47 * 3600 * 1000)); then
        range="--from $(date -u -d "@$((min_ts / 1000))" +%FT%TZ) --to $(date -u -d "@$((max_ts / 1000 + 1))" +%FT%TZ)"
        log "store older than 47 h: full scans use $range"
    fi

    local C FILES
    C="$(q "$CLOUDLOG") query --data $(q "$data") $range --count"
    FILES="xargs -0 -a $(q "$tmp/objects")"
    local D=""
    [[ "$DUCKDB" == 1 ]] && D="node $(q "$ROOT/tools/duckdb/query.mjs") $(q "$data/logs")"
    local duck_count="| sed 's/.*:\\([0-9]*\\)}/\\1/'"

    # Full scans. `xargs -0 -a LIST gzip -dc` keeps the long object list off the command line
    # (one gzip process when it fits, as here).
    scan grep.cloudlog "cloudlog query --count --grep TEXT" "$C --grep $(q "$TEXT")"
    scan grep.cloudlog1 "cloudlog query ... --threads 1" "$C --grep $(q "$TEXT") --threads 1"
    scan grep.gzip "gzip -dc | grep -c TEXT" "$FILES gzip -dc | grep -c -- $(q "$TEXT")"
    scan grep.zgrep "zgrep -c TEXT (summed)" \
        "$FILES zgrep -c -- $(q "$TEXT") | awk -F: '{ s += \$NF } END { print s + 0 }'"
    [[ -z "$D" ]] || scan grep.duckdb "DuckDB contains(message, TEXT)" \
        "$D $(q "SELECT count(*) AS n FROM logs WHERE contains(message, $(sqlq "$TEXT"))") $duck_count"
    check_counts grep.cloudlog grep.cloudlog1 grep.gzip grep.zgrep ${D:+grep.duckdb}

    scan re.cloudlog "cloudlog query --count --regex RE" "$C --regex $(q "$RE")"
    scan re.gzip "gzip -dc | grep -cE RE" "$FILES gzip -dc | grep -cE -- $(q "$RE")"
    [[ -z "$D" ]] || scan re.duckdb "DuckDB regexp_matches(message, RE)" \
        "$D $(q "SELECT count(*) AS n FROM logs WHERE regexp_matches(message, $(sqlq "$RE"))") $duck_count"
    check_counts re.cloudlog re.gzip ${D:+re.duckdb}

    scan ic.cloudlog "cloudlog query --count --grep ITEXT -i" "$C --grep $(q "$ITEXT") -i"
    scan ic.gzip "gzip -dc | grep -ci ITEXT" "$FILES gzip -dc | grep -ci -- $(q "$ITEXT")"
    [[ -z "$D" ]] || scan ic.duckdb "DuckDB message ILIKE '%ITEXT%'" \
        "$D $(q "SELECT count(*) AS n FROM logs WHERE message ILIKE $(sqlq "%$ITEXT%")") $duck_count"
    check_counts ic.cloudlog ic.gzip ${D:+ic.duckdb}

    # 15 minutes of one service: HH:50 of the store's middle hour to HH+1:05.
    local mid=$(((min_ts + max_ts) / 2000)) from to
    from=$((mid - mid % 3600 + 50 * 60))
    to=$((from + 15 * 60))
    local f_iso t_iso
    f_iso=$(date -u -d "@$from" +%FT%TZ)
    t_iso=$(date -u -d "@$to" +%FT%TZ)
    R[win]="$f_iso .. $t_iso"
    timeit win.cloudlog "$(q "$CLOUDLOG") query --data $(q "$data") --service $(q "$SERVICE") --from $f_iso --to $t_iso --limit 100 --stats"
    timeit win.count "$(q "$CLOUDLOG") query --data $(q "$data") --service $(q "$SERVICE") --from $f_iso --to $t_iso --count"
    R[win.rows]=$(wc -l < "$tmp/win.cloudlog.out")
    R[win.matches]=$(tr -d ' \n' < "$tmp/win.count.out")
    R[win.objects]=$(sed -n 's/^objects *//p' "$tmp/win.cloudlog.err")
    R[win.elapsed]=$(sed -n 's/^elapsed *\([0-9.]*\) s.*/\1/p' "$tmp/win.cloudlog.err")
    R[win.bytes]=$(sed -n 's/^bytes *//p' "$tmp/win.cloudlog.err")
    log "15 min: ${R[win.rows]} rows of ${R[win.matches]}; objects ${R[win.objects]}; bytes ${R[win.bytes]}"
    if [[ -n "$D" ]]; then
        local parts="" h d
        for h in "$from" "$((to - 1))"; do
            d=$(date -u -d "@$h" +%F)
            parts+="${parts:+ OR }(dt = DATE '$d' AND hour = '$(date -u -d "@$h" +%H)')"
        done
        local sql_win
        sql_win="SELECT trace_id FROM logs WHERE service = $(sqlq "$SERVICE") AND ($parts)
            AND timestamp >= TIMESTAMP '$(date -u -d "@$from" '+%F %T')'
            AND timestamp < TIMESTAMP '$(date -u -d "@$to" '+%F %T')'
            ORDER BY timestamp DESC LIMIT 100"
        R[win.sql]=$sql_win
        timeit win.duckdb "$D $(q "$sql_win")"
        timeit duck.fixed "$D $(q "SELECT 1 AS x")"
        # Same records? (ties at the 100th timestamp could differ; the generator's ms
        # timestamps make that unlikely, and a difference is reported, not fatal.)
        local a b
        a=$(sed -n 's/.*"trace_id":"\([0-9a-f]*\)".*/\1/p' "$tmp/win.cloudlog.out" | sort | md5sum)
        b=$(sed -n 's/.*"trace_id":"\([0-9a-f]*\)".*/\1/p' "$tmp/win.duckdb.out" | sort | md5sum)
        R[win.same]=no
        [[ "$a" == "$b" ]] && R[win.same]=yes
        [[ "${R[win.same]}" == yes ]] || log "WARNING: cloudlog and DuckDB returned different records for the 15-minute query"
    fi

    # Summary.
    echo
    echo "query benchmark: $(nproc) cores, warm page cache (nothing dropped), best and median of $RUNS runs;" \
        "load average before: $LOAD0"
    echo "store: $nobj objects, $nrec records, $(calc "$raw / 1e6" 1) MB uncompressed ($(calc "$raw / 1073741824" 3) GiB)," \
        "$(calc "$stored / 1e6" 1) MB stored (ratio $(calc "$raw / $stored" 2)), ${SPAN_HOURS} h of data"
    echo "TEXT=$TEXT  RE=$RE  ITEXT=$ITEXT; full scans: $range"
    echo
    {
        printf 'full scan\tmatches\tbest s\tmedian s\tMB/s (best)\tMB/s (median)\tx gzip|grep (best)\n'
        local n base
        for n in "${ROWS[@]}"; do
            base=${n%%.*}.gzip
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "${R[$n.label]}" "${R[$n.count]}" "${R[$n.best]}" \
                "${R[$n.median]}" "$(calc "$raw / 1e6 / ${R[$n.best]}" 1)" \
                "$(calc "$raw / 1e6 / ${R[$n.median]}" 1)" "$(calc "${R[$base.best]} / ${R[$n.best]}" 2)"
        done
    } | column -t -s $'\t'
    echo
    echo "15 minutes, one service ($SERVICE, ${R[win]}, --limit 100): ${R[win.rows]} rows printed of" \
        "${R[win.matches]} matching"
    {
        printf 'query\tbest s\tmedian s\tnotes\n'
        printf 'cloudlog query --service --from --to --limit 100 --stats\t%s\t%s\tobjects %s; bytes %s; engine elapsed %s s\n' \
            "${R[win.cloudlog.best]}" "${R[win.cloudlog.median]}" "${R[win.objects]}" "${R[win.bytes]}" "${R[win.elapsed]}"
        printf 'cloudlog query ... --count (all matches)\t%s\t%s\t%s\n' \
            "${R[win.count.best]}" "${R[win.count.median]}" "${R[win.matches]}"
        if [[ -n "$D" ]]; then
            printf 'DuckDB, hive filters (service, dt, hour) + timestamp range\t%s\t%s\tsame records as cloudlog: %s\n' \
                "${R[win.duckdb.best]}" "${R[win.duckdb.median]}" "${R[win.same]}"
            printf 'DuckDB fixed cost: node + view binding (SELECT 1)\t%s\t%s\t-\n' \
                "${R[duck.fixed.best]}" "${R[duck.fixed.median]}"
        fi
    } | column -t -s $'\t'
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
main "$@"
