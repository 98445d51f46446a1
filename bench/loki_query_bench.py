#!/usr/bin/env python3
"""loki_query_bench.py - the Loki read API against `cloudlog query` and DuckDB on the
same store, and a Grafana-like panel refresh under ingest load (issue 16; not in CI).

Store: a daemon takes RECORDS records from bench_query_gen (the shared generator's
records, 20 services, timestamps spread over the 24 hours ending now, in time order),
drains and publishes them; END is fixed right after (every query below uses it).

Measurements (RUNS each, median wall time; warm page cache), counts must agree:
  line filter, 24 h
    api-logs   GET query_range {service=~".+"} |= "TEXT", limit 100, backward, 24 h
    cli-logs   cloudlog query --grep TEXT --limit 100 (same range)
    api-count  GET query sum(count_over_time({service=~".+"} |= "TEXT" [24h])) at END
    cli-count  cloudlog query --count --grep TEXT (same range)
    duckdb     SELECT count(*) FROM logs WHERE contains(message, 'TEXT') AND timestamp in range
  errors by service
    api-rate   GET query_range sum by (service) (rate({level="error"}[5m])), step 5m over
               the 24 h (points cover (END-24h, END] exactly); counts = rate * 300 summed
    cli-rate   cloudlog query --logql 'sum by (service) (count_over_time({level="error"}[24h]))'
    duckdb     SELECT service, count(*) ... WHERE level = 'error' AND timestamp in range
  panel refresh under ingest
    baseline   bench_loadgen --rate RATE --batch BATCH for DURATION s: ack p50/p99
    with-panel the same while a client refreshes a 6-panel dashboard back to back: 6
               concurrent query_range over the last hour (3 log panels, limit 1000; 3
               metric panels, step 15 s); p50/p99 of one refresh and of single calls

Environment (defaults in brackets): BUILD_DIR [build-release]  RECORDS [1000000]
  TEXT [contention]  RUNS [3]  RATE [50]  BATCH [100]  CONNECTIONS [4]  DURATION [20]
  KEEP_STORE [unset: a temporary directory; a directory that holds a store is reused]
  PARTS [line,rate,panel: which of the three groups above run]
  DUCKDB [1]
"""

import concurrent.futures
import http.client
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import query_vs_ingest as qvi  # noqa: E402 (its daemon start and stop)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build-release"))
BIN = os.path.join(BUILD, "cloudlog")
GEN = os.path.join(BUILD, "bench", "bench_query_gen")
LOADGEN = os.path.join(BUILD, "bench", "bench_loadgen")
DUCKDB_TOOL = os.path.join(ROOT, "tools", "duckdb", "query.mjs")
RECORDS = int(os.environ.get("RECORDS", "1000000"))
TEXT = os.environ.get("TEXT", "contention")
RUNS = int(os.environ.get("RUNS", "3"))
RATE = int(os.environ.get("RATE", "50"))
BATCH = int(os.environ.get("BATCH", "100"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "4"))
DURATION = int(os.environ.get("DURATION", "20"))
PARTS = os.environ.get("PARTS", "line,rate,panel").split(",")
DUCKDB = os.environ.get("DUCKDB", "1") == "1" and shutil.which("node") and os.path.isdir(
    os.path.join(ROOT, "tools", "duckdb", "node_modules", "@duckdb"))
DAY_MS = 86400000


def log(msg):
    print(msg, flush=True)


def start(data, logf):
    return qvi.start(BIN, data, logf)


stop = qvi.stop


def stored(data):
    """(queue depth, records in published catalog rows) of DATA/queue.db."""
    con = sqlite3.connect("file:%s?mode=ro" % os.path.join(data, "queue.db"), uri=True,
                          timeout=10)
    try:
        depth = con.execute("SELECT count(*) FROM messages").fetchone()[0]
        recs = con.execute("SELECT coalesce(sum(records), 0) FROM objects WHERE published = 1"
                           ).fetchone()[0]
        return depth, recs
    finally:
        con.close()


def build_store(data, port):
    t0 = time.monotonic()
    subprocess.run([GEN, "--addr", "127.0.0.1:%d" % port, "--records", str(RECORDS),
                    "--span-hours", "24"], check=True)
    for _ in range(3600):
        depth, recs = stored(data)
        if depth == 0 and recs >= RECORDS:
            break
        time.sleep(0.5)
    else:
        sys.exit("store not drained: depth %d, %d records published" % (depth, recs))
    log("store: %d records posted, drained and published in %.1f s"
        % (RECORDS, time.monotonic() - t0))


class Failed(Exception):
    pass


def http_get(port, path, params):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        c.request("GET", path + "?" + urllib.parse.urlencode(params))
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise Failed("%s answered %d: %r" % (path, r.status, body[:300]))
        return json.loads(body)
    finally:
        c.close()


def timed(fn, runs=RUNS):
    """(median seconds, last result) of runs calls of fn."""
    times, out = [], None
    for _ in range(runs):
        t0 = time.monotonic()
        out = fn()
        times.append(time.monotonic() - t0)
    return statistics.median(times), out


ENGINE_S = {}  # the last `cloudlog query --stats` elapsed time per first argument


def cli(data, *args):
    p = subprocess.run([BIN, "query", "--data", data, "--stats"] + list(args),
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("cloudlog query %s: %s" % (args, p.stderr[-1000:]))
    for line in p.stderr.splitlines():
        if line.startswith("elapsed"):
            ENGINE_S[args[0]] = float(line.split()[1])
    return p.stdout


def duckdb(data, sql):
    p = subprocess.run(["node", DUCKDB_TOOL, os.path.join(data, "logs"), sql],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("duckdb: " + p.stderr[-1000:])
    return [json.loads(l) for l in p.stdout.splitlines()]


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + ".%03dZ" % (ms % 1000)


def sql_ts(ms):
    return "TIMESTAMP '%s'" % iso(ms)[:-1].replace("T", " ")


def row(name, secs, count, engine=None, note=""):
    """A result line; engine: the CLI's engine time (its --stats elapsed), printed and,
    for an API row, compared with."""
    extra = "" if engine is None else "  engine %.3f s" % engine
    log("  %-10s %8.3f s  count %s%s%s" % (name, secs, count, extra, note))


def vs(api_s, engine_s):
    return "  (API wall time %+.1f%% vs the CLI's engine time)" % ((api_s / engine_s - 1) * 100)


def line_filter(data, port, end):
    start = end - DAY_MS
    log("line filter |= %r over 24 h (END %s), median of %d:" % (TEXT, iso(end), RUNS))
    rng = ["--from", iso(start), "--to", iso(end)]
    t_api, js = timed(lambda: http_get(port, "/loki/api/v1/query_range", {
        "query": '{service=~".+"} |= "%s"' % TEXT, "limit": "100", "direction": "backward",
        "start": str(start * 1000000), "end": str(end * 1000000)}))
    t_cli, out = timed(lambda: cli(data, "--grep", TEXT, "--limit", "100", *rng))
    n_api = sum(len(s["values"]) for s in js["data"]["result"])
    row("cli-logs", t_cli, len(out.splitlines()), ENGINE_S["--grep"])
    row("api-logs", t_api, n_api, note=vs(t_api, ENGINE_S["--grep"]))
    t_apic, js = timed(lambda: http_get(port, "/loki/api/v1/query", {
        "query": 'sum(count_over_time({service=~".+"} |= "%s" [24h]))' % TEXT,
        "time": str((end - 1) * 1000000)}))
    t_clic, out = timed(lambda: cli(data, "--count", "--grep", TEXT, *rng))
    api_count = int(js["data"]["result"][0]["value"][1]) if js["data"]["result"] else 0
    row("cli-count", t_clic, int(out), ENGINE_S["--count"])
    row("api-count", t_apic, api_count, note=vs(t_apic, ENGINE_S["--count"]))
    counts = {api_count, int(out)}
    if DUCKDB:
        t_d, rows = timed(lambda: duckdb(data, (
            "SELECT count(*) AS n FROM logs WHERE contains(message, '%s') AND timestamp >= %s "
            "AND timestamp < %s" % (TEXT, sql_ts(start), sql_ts(end)))))
        row("duckdb", t_d, rows[0]["n"])
        counts.add(rows[0]["n"])
    if len(counts) != 1:
        sys.exit("count mismatch: %s" % counts)


def errors_by_service(data, port, end):
    start = end - DAY_MS + 300000  # points at start..end cover (end - 24h, end]
    log("sum by (service) (rate({level=\"error\"}[5m])), step 5m over 24 h, median of %d:"
        % RUNS)
    t_api, js = timed(lambda: http_get(port, "/loki/api/v1/query_range", {
        "query": 'sum by (service) (rate({level="error"}[5m]))', "step": "300",
        "start": str(start * 1000000), "end": str(end * 1000000)}))
    api = {s["metric"]["service"]: round(sum(float(v) * 300 for _, v in s["values"]))
           for s in js["data"]["result"]}
    t_cli, out = timed(lambda: cli(
        data, "--to", iso(end + 1), "--logql",
        'sum by (service) (count_over_time({level="error"}[24h]))'))
    clis = {json.loads(l)["metric"]["service"]: int(json.loads(l)["value"][1])
            for l in out.splitlines()}
    row("cli-rate", t_cli, sum(clis.values()), ENGINE_S["--to"])
    row("api-rate", t_api, sum(api.values()), note=vs(t_api, ENGINE_S["--to"]))
    if api != clis:
        sys.exit("per-service counts differ: %s vs %s" % (api, clis))
    if DUCKDB:
        t_d, rows = timed(lambda: duckdb(data, (
            "SELECT service, count(*) AS n FROM logs WHERE level = 'error' AND timestamp > %s "
            "AND timestamp <= %s GROUP BY service" % (sql_ts(end - DAY_MS), sql_ts(end)))))
        duck = {r["service"]: r["n"] for r in rows}
        row("duckdb", t_d, sum(duck.values()))
        if duck != api:
            sys.exit("per-service counts differ from DuckDB: %s vs %s" % (api, duck))


def loadgen(port):
    out = subprocess.run([LOADGEN, "--url", "http://127.0.0.1:%d/v1/logs" % port,
                          "--rate", str(RATE), "--connections", str(CONNECTIONS),
                          "--batch", str(BATCH), "--duration", str(DURATION), "--warmup", "1",
                          "--timeout", "60", "--json"], capture_output=True)
    lines = out.stdout.decode().strip().splitlines()
    if not lines:
        sys.exit("bench_loadgen failed: " + out.stderr.decode()[-2000:])
    return json.loads(lines[-1])


PANELS = [
    {"query": '{service="checkout"}', "limit": "1000", "direction": "backward"},
    {"query": '{level="error"} |= "timeout"', "limit": "1000", "direction": "backward"},
    {"query": '{service=~"api|web"} != "health"', "limit": "1000", "direction": "backward"},
    {"query": 'sum by (level) (count_over_time({service=~".+"}[15s]))', "step": "15"},
    {"query": 'sum by (service) (rate({level="error"}[1m]))', "step": "15"},
    {"query": 'topk(5, sum by (service) (bytes_rate({service=~".+"}[1m])))', "step": "15"},
]


def refresh_loop(port, stop_flag, refreshes, calls):
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(PANELS))

    def one(p):
        now = int(time.time() * 1000)
        params = dict(p, start=str((now - 3600000) * 1000000), end=str(now * 1000000))
        t0 = time.monotonic()
        http_get(port, "/loki/api/v1/query_range", params)
        return time.monotonic() - t0

    while not stop_flag.is_set():
        t0 = time.monotonic()
        calls.extend(pool.map(one, PANELS))
        refreshes.append(time.monotonic() - t0)
    pool.shutdown()


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] * 1000 if v else float("nan")


def panel_under_ingest(port):
    log("panel refresh (6 concurrent query_range, last hour) under ingest: %d req/s x %d "
        "records, %d connections, %d s" % (RATE, BATCH, CONNECTIONS, DURATION))
    base = loadgen(port)
    stop_flag, refreshes, calls = threading.Event(), [], []
    failures = []

    def guarded():
        try:
            refresh_loop(port, stop_flag, refreshes, calls)
        except Failed as e:
            failures.append(str(e))

    t = threading.Thread(target=guarded)
    t.start()
    time.sleep(1)
    withp = loadgen(port)
    stop_flag.set()
    t.join()
    if failures:
        sys.exit("a panel query failed: " + failures[0])
    for name, r in (("baseline", base), ("with-panel", withp)):
        log("  %-10s ack p50 %8.2f ms  p99 %8.2f ms  max %8.2f ms  ok %d  non-2xx %d"
            % (name, r["p50_ms"], r["p99_ms"], r["max_ms"], r["ok"],
               r["status_503"] + r["status_429"] + r["status_other"]))
    log("  refresh    %d x: p50 %.1f ms  p99 %.1f ms; single query_range %d x: p50 %.1f ms  "
        "p99 %.1f ms" % (len(refreshes), pct(refreshes, 0.5), pct(refreshes, 0.99), len(calls),
                         pct(calls, 0.5), pct(calls, 0.99)))


def main():
    keep = os.environ.get("KEEP_STORE")
    data = keep or tempfile.mkdtemp(prefix="cl-lokibench-")
    os.makedirs(data, exist_ok=True)
    logf = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False)
    p, port = start(data, logf)
    try:
        if not os.path.exists(os.path.join(data, "logs")) or stored(data)[1] < RECORDS:
            build_store(data, port)
        end = int(time.time() * 1000) // 1000 * 1000
        log("machine: %d cores (shared with other work while this ran)" % os.cpu_count())
        if "line" in PARTS:
            line_filter(data, port, end)
        if "rate" in PARTS:
            errors_by_service(data, port, end)
        if "panel" in PARTS:
            panel_under_ingest(port)
    finally:
        stop(p)
        os.unlink(logf.name)
        if not keep:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
