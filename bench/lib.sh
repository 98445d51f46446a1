# shellcheck shell=bash
# lib.sh - shell code shared by the bench/run_*.sh scripts; sourced, not run.
#
# Sourced after `set -euo pipefail`, `cd` to the repository root and the script's settings.
# The functions read these of the script's variables:
#   ROOT BUILD_DIR SKIP_BUILD (build)   CLOUDLOG SERVE_ARGS READY_TIMEOUT (start_server)
#   STOP_TIMEOUT (stop_server)   tmp (build's log, the scripts' temp dir)
# and keep the daemon's state in server_pid, server_status and addr (set below).

server_pid=""   # the running daemon, "" when none
server_status=0 # exit status of the last daemon stopped
addr=""         # HOST:PORT the daemon listens on
tmp=""          # the script's temp dir (mktemp -d), removed by remove_tmp
CLK_TCK=$(getconf CLK_TCK)
BENCH_NAME=$(basename "$0" .sh)

# log MSG...: one line "run_x: MSG" on stderr.
log() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }
# die MSG...: log, then exit 1 (the EXIT trap cleans up).
die() { log "$*"; exit 1; }
# alive PID: true if PID is set and the process exists.
alive() { [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; }
# calc EXPR [DECIMALS]: awk arithmetic, printed with DECIMALS (1) decimals.
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }

# build TARGET...: configures BUILD_DIR (Release) if needed and builds TARGETs, unless SKIP_BUILD=1.
build() {
    [[ "$SKIP_BUILD" == 1 ]] && return 0
    if [[ ! -f "$BUILD_DIR/CMakeCache.txt" ]]; then
        cmake -S "$ROOT" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release > /dev/null
    fi
    cmake --build "$BUILD_DIR" --target "$@" -j "$(nproc)" > "$tmp/build.log" 2>&1 ||
        { tail -n 30 "$tmp/build.log" >&2; die "build failed (log above)"; }
}

# start_server SLOG DATA [serve options...]: `cloudlog serve` on a free loopback port, data in
# DATA, stderr to SLOG, then SERVE_ARGS; sets server_pid, and addr once /healthz answers.
start_server() {
    local slog=$1 data=$2
    shift 2
    mkdir -p "$data"
    : > "$slog" # exists before the background job opens it, so wait_ready can read it
    # shellcheck disable=SC2086
    "$CLOUDLOG" serve --listen 127.0.0.1:0 --data "$data" "$@" $SERVE_ARGS 2> "$slog" &
    server_pid=$!
    wait_ready "$slog"
}

# wait_ready SLOG: waits up to READY_TIMEOUT s for the daemon's "listening on" line in SLOG
# and an answer from /healthz; sets addr. Dies (printing SLOG) if it exits or never answers.
wait_ready() {
    local slog=$1 i
    addr=""
    for ((i = 0; i < READY_TIMEOUT * 10; i++)); do
        alive "$server_pid" || { cat "$slog" >&2; die "daemon exited during start-up"; }
        addr=$(sed -n 's|.*listening on http://\([^ ]*\).*|\1|p' "$slog" | head -n 1 || true)
        if [[ -n "$addr" ]] && curl -fsS --max-time 1 "http://$addr/healthz" > /dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    cat "$slog" >&2
    die "daemon not ready after ${READY_TIMEOUT}s"
}

# stop_server_quiet: stops the daemon: SIGTERM, then SIGKILL after STOP_TIMEOUT s; reaps it
# and sets server_status. Not to be called in a subshell: only this shell can wait for its child.
stop_server_quiet() {
    local pid=$server_pid waited=0
    server_status=0
    [[ -n "$pid" ]] || return 0
    server_pid=""
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        while alive "$pid" && ((waited < STOP_TIMEOUT * 10)); do
            sleep 0.1
            waited=$((waited + 1))
        done
        if alive "$pid"; then
            log "daemon $pid still running after ${STOP_TIMEOUT}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    wait "$pid" 2>/dev/null || server_status=$?
}

# stop_server: stop_server_quiet, then logs the daemon's exit status if it is not 0.
stop_server() {
    stop_server_quiet
    [[ "$server_status" == 0 ]] || log "daemon exited with status $server_status (expected 0)"
}

# stop_child VAR: SIGTERMs and reaps the background job whose pid is in variable VAR; empties VAR.
stop_child() {
    local pid=${!1}
    if alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    printf -v "$1" '%s' ""
}

# remove_tmp KEEP: removes the temp dir tmp, or with KEEP=1 logs that it is kept.
remove_tmp() {
    if [[ -n "$tmp" && -d "$tmp" ]]; then
        if [[ "$1" == 1 ]]; then log "kept $tmp"; else rm -rf "$tmp"; fi
    fi
}

# set_traps: runs the script's `cleanup` function on exit; INT and TERM exit 130 (via cleanup).
set_traps() {
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

# sql DATA QUERY: one read of DATA/queue.db (WAL: readers do not block the daemon).
sql() { sqlite3 -cmd '.timeout 10000' "$1/queue.db" "$2"; }

# snapshot DATA: queue state of DATA as "depth|stored records|stored raw bytes|unpublished objects"
# (depth: messages queued; stored: over published objects).
snapshot() {
    sql "$1" "SELECT (SELECT count(*) FROM messages),
        (SELECT coalesce(sum(records), 0) FROM objects WHERE published = 1),
        (SELECT coalesce(sum(raw_bytes), 0) FROM objects WHERE published = 1),
        (SELECT count(*) FROM objects WHERE published = 0)"
}

# cpu_s PID: user + system CPU seconds of PID so far (/proc/PID/stat).
cpu_s() { awk -v t="$CLK_TCK" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"; }
# hwm_mib PID: peak resident set of PID in MiB (VmHWM in /proc/PID/status).
hwm_mib() { awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
