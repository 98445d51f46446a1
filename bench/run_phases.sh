#!/usr/bin/env bash
# run_phases.sh BUILD_DIR RATE SECONDS [LABEL]: where the processor threads' and the queue
# committer's wall time goes end to end. One daemon (--analytics off) with CLOUDLOG_PHASES=1,
# bench_loadgen at RATE requests/s of 1000 records on 16 connections for 5 s + SECONDS s;
# prints the loadgen's summary, the queue depth and published records over the window, peak
# RSS, the daemon's per-thread phase breakdown (logged at its stop) and the objects written.
# TRACE=1 also runs `perf trace -s -e fsync,fdatasync` on the daemon for 10 s.
# docs/performance.md, "Where a processor's time goes".
set -euo pipefail
B=$1; RATE=$2; SECS=$3; LABEL=${4:-run}
D=$(mktemp -d /tmp/e2eph.XXXX)
CLOUDLOG_PHASES=1 "$B/cloudlog" serve --listen 127.0.0.1:0 --data "$D/data" --analytics off 2> "$D/serve.log" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$D"' EXIT
for _ in $(seq 1 100); do addr=$(sed -n 's|.*listening on http://\([^ ]*\).*|\1|p' "$D/serve.log" | head -n1); [[ -n "$addr" ]] && break; sleep 0.1; done
c0=$(awk '{print $14+$15}' /proc/$pid/stat)
"$B/bench/bench_loadgen" --url "http://$addr/v1/logs" --connections 16 --batch 1000 --seed 1 --server-pid $pid --json --rate "$RATE" --warmup 5 --duration "$SECS" > "$D/lg.json" &
lg=$!
sleep 5
if [[ -n "${TRACE:-}" ]]; then perf trace -s --no-syscalls -e fsync,fdatasync -p $pid -o "$D/trace.txt" -- sleep 10 2>/dev/null & tr=$!; fi
d0=$(sqlite3 "$D/data/queue.db" "select count(*) from messages" 2>/dev/null || echo ?)
r0=$(sqlite3 "$D/data/queue.db" "select coalesce(sum(records),0) from objects where published=1" 2>/dev/null || echo 0)
t0=$(date +%s.%N)
wait $lg
[[ -n "${TRACE:-}" ]] && { wait "$tr" || true; }
t1=$(date +%s.%N)
d1=$(sqlite3 "$D/data/queue.db" "select count(*) from messages" 2>/dev/null || echo ?)
r1=$(sqlite3 "$D/data/queue.db" "select coalesce(sum(records),0) from objects where published=1" 2>/dev/null || echo 0)
c1=$(awk '{print $14+$15}' /proc/$pid/stat)
hwm=$(awk '/VmHWM/{print $2/1024}' /proc/$pid/status)
kill -TERM $pid; wait $pid || true
echo "== $LABEL rate=$RATE: $(cat "$D/lg.json")"
echo "== $LABEL depth $d0 -> $d1; stored/s $(echo "($r1-$r0)/($t1-$t0)" | bc -l | cut -c1-9); hwm ${hwm} MiB; cpu_s(whole run) $(echo "($c1-$c0)/100" | bc -l | cut -c1-6); stored_total $r1"
grep -o 'phases .*' "$D/serve.log"
echo "== objects $(sqlite3 "$D/data/queue.db" "select count(*), avg(records), avg(bytes) from objects")"
[[ -n "${TRACE:-}" ]] && cat "$D/trace.txt"
rm -rf "$D"
