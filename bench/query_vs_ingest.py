#!/usr/bin/env python3
"""query_vs_ingest.py - does a query hold up ingest? Durable-ack latency of POST /v1/logs
(bench_loadgen, open loop) with and without a concurrent GET /v1/query loop, over a
catalog of ROWS published objects, in the same run (issue 13, item 3).

Setup: a fresh data directory; `cloudlog serve` creates queue.db and stops; then ROWS
catalog rows are inserted into its objects table in one transaction (20 services x 24
hours a day x as many days as it takes, published, info records only: the objects are
not in the store, and neither query below reads one). Then, for BIN (and BEFORE_BIN,
an older build, if given), the daemon starts on that data directory and two phases run:

  baseline    bench_loadgen --rate RATE --connections CONNECTIONS --batch BATCH for
              DURATION s, nothing else
  with-query  the same while one client runs queries back to back, alternating
                Q1 from=0001-01-01T00:00:00Z&count=1&service=nomatch   (the issue's)
                Q2 from=0001-01-01T00:00:00Z&count=1&level=fatal       (every row of the
                   catalog is in range and read, none has a fatal record)

Printed: ack p50/p99/max and requests per phase, and the queries' count and median time.

Environment (defaults in brackets): BUILD_DIR [build-release]  BIN [BUILD_DIR/cloudlog]
  BEFORE_BIN [unset]  ROWS [1000000]  DURATION [20]  RATE [100]  CONNECTIONS [4]
  BATCH [100]  KEEP [0] (keep the data directory)
"""

import http.client
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD_DIR", os.path.join(ROOT, "build-release"))
BIN = os.environ.get("BIN", os.path.join(BUILD, "cloudlog"))
BEFORE_BIN = os.environ.get("BEFORE_BIN")
LOADGEN = os.path.join(BUILD, "bench", "bench_loadgen")
ROWS = int(os.environ.get("ROWS", "1000000"))
DURATION = int(os.environ.get("DURATION", "20"))
RATE = int(os.environ.get("RATE", "100"))
CONNECTIONS = int(os.environ.get("CONNECTIONS", "4"))
BATCH = int(os.environ.get("BATCH", "100"))
QUERIES = ["/v1/query?from=0001-01-01T00:00:00Z&count=1&service=nomatch",
           "/v1/query?from=0001-01-01T00:00:00Z&count=1&level=fatal"]


def start(binary, data, log):
    p = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--data", data],
                         stdout=log, stderr=log)
    for _ in range(600):
        with open(log.name, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        if "listening on http://" in text:
            port = int(text.split("listening on http://")[1].split(" ")[0].rsplit(":", 1)[1])
            return p, port
        if p.poll() is not None:
            sys.exit("daemon exited:\n" + text[-2000:])
        time.sleep(0.1)
    p.kill()
    sys.exit("daemon did not start")


def stop(p):
    p.terminate()
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def fill_catalog(db, rows):
    """rows published catalog rows: 20 services x 24 hours x ceil(rows / 480) days."""
    con = sqlite3.connect(db)
    day0 = 1700000000000 // 86400000 * 86400000 - 86400000 * (rows // 480 + 1)

    def gen():
        for i in range(rows):
            svc, hour, day = i % 20, (i // 20) % 24, i // 480
            t = day0 + day * 86400000 + hour * 3600000
            dt = time.strftime("%Y-%m-%d", time.gmtime(t / 1000))
            yield ("service=svc%d/dt=%s/hour=%02d/o%d.ndjson.gz" % (svc, dt, hour, i),
                   "svc%d" % svc, dt, hour, 100, 5000, 30000, t, t + 3599999, 100, t)
    with con:
        con.executemany(
            "INSERT INTO objects (key, service, dt, hour, records, bytes, raw_bytes, min_ts,"
            " max_ts, n_trace, n_debug, n_info, n_warn, n_error, n_fatal, created_at,"
            " published) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, 0, 0, 0, ?, 1)", gen())
    con.close()


def loadgen(port):
    out = subprocess.run([LOADGEN, "--url", "http://127.0.0.1:%d/v1/logs" % port,
                          "--rate", str(RATE), "--connections", str(CONNECTIONS),
                          "--batch", str(BATCH), "--duration", str(DURATION), "--warmup", "1",
                          "--timeout", "60", "--json"], capture_output=True)
    lines = out.stdout.decode().strip().splitlines()  # exit 1 when no request succeeded
    if not lines:
        sys.exit("bench_loadgen failed: " + out.stderr.decode()[-2000:])
    return json.loads(lines[-1])


def query_loop(port, stop_flag, times):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    i = 0
    while not stop_flag.is_set():
        t0 = time.monotonic()
        c.request("GET", QUERIES[i % 2])
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            sys.exit("query answered %d: %r" % (r.status, body[:300]))
        times[i % 2].append(time.monotonic() - t0)
        i += 1
    c.close()


def median_ms(v):
    return sorted(v)[len(v) // 2] * 1000 if v else float("nan")


def run_phases(name, binary, data):
    log = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False)
    p, port = start(binary, data, log)
    ok = False
    try:
        base = loadgen(port)
        stop_flag, times = threading.Event(), ([], [])
        t = threading.Thread(target=query_loop, args=(port, stop_flag, times))
        t.start()
        time.sleep(1)  # the loop is running before the measured window opens
        withq = loadgen(port)
        stop_flag.set()
        t.join()
        ok = True
    finally:
        stop(p)
        if not ok:
            with open(log.name, "rb") as f:
                print("daemon log (%s):\n%s" % (log.name, f.read()[-3000:].decode("utf-8", "replace")))
        else:
            os.unlink(log.name)
    for phase, r in (("baseline", base), ("with-query", withq)):
        extra = ("" if phase == "baseline" else
                 "  Q1 %d x %.1f ms, Q2 %d x %.1f ms (median)" % (
                     len(times[0]), median_ms(times[0]), len(times[1]), median_ms(times[1])))
        print("%-8s %-10s ack p50 %8.2f ms  p99 %8.2f ms  max %8.2f ms  ok %5d  non-2xx %d%s"
              % (name, phase, r["p50_ms"], r["p99_ms"], r["max_ms"], r["ok"],
                 r["status_503"] + r["status_429"] + r["status_other"], extra), flush=True)


def main():
    data = tempfile.mkdtemp(prefix="cl-qvi-")
    try:
        log = tempfile.NamedTemporaryFile(prefix="serve-", suffix=".log", delete=False)
        p, _ = start(BIN, data, log)  # creates queue.db
        stop(p)
        os.unlink(log.name)
        t0 = time.monotonic()
        fill_catalog(os.path.join(data, "queue.db"), ROWS)
        print("catalog: %d rows in %.1f s; rate %d req/s x %d records, %d connections, %d s"
              % (ROWS, time.monotonic() - t0, RATE, BATCH, CONNECTIONS, DURATION), flush=True)
        run_phases("this", BIN, data)
        if BEFORE_BIN:
            run_phases("before", BEFORE_BIN, data)
    finally:
        if os.environ.get("KEEP") == "1":
            print("data directory kept: " + data)
        else:
            shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
