#!/usr/bin/env python3
"""analytics_cost.py - the cost of patterns and anomalies inline (docs/analytics.md): the
same queued records drained by the daemon's processor with --analytics on and off,
alternating in the same run, each on a fresh copy of one queue file.

  1. A daemon with --no-processor queues RECORDS records (POST /v1/logs, 1000 a request) of
     six services; --messages picks them: "templates" (40 templates with numbers, ids and
     addresses: what real services log) or "words" (bench/common/gen.c's 5-14 random words
     per message: every message its own pattern, the miner's worst case: LRU churn).
  2. ROUNDS times, on and off (the order alternates each round): copy the queue file, start
     `cloudlog serve --analytics on|off` on it, time from start to "no message left, every
     object published", and read the daemon's CPU time (utime + stime) at that point, and
     again at its exit (stopped then: with the analytics catalog's last write, which the
     first figure misses; both include start-up).
  3. Prints records/s and CPU µs per record for each mode (median over rounds) and on/off.

Usage: bench/analytics_cost.py [--records N] [--rounds R] [--messages templates|words]
                               [--workers W]
The machine may be shared: CPU per record is the steadier figure; wall-clock rates move
with the load."""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("CLOUDLOG_BIN") or os.path.join(ROOT, "build-release", "cloudlog")
TICKS = os.sysconf("SC_CLK_TCK")

TEMPLATES = [
    "GET /api/v1/items/{n} answered 200 in {ms} ms", "POST /api/v1/orders/{n} answered 201 in {ms} ms",
    "cache hit for key item:{n} after {ms} us", "cache miss for key user:{n}",
    "connection pool size {s}, {s2} idle", "user {n} signed in from 10.0.{s}.{s2}",
    "job {id} finished in {ms} ms", "published event {id} to topic orders ({n} bytes)",
    "retrying request {id} (attempt {s})", "upstream 10.1.{s}.4:8080 timed out after {ms} ms",
    "payment {n} declined: code {s}", "session {id} expired after {ms} s",
    "loaded config from /etc/app/{s}.yaml", "worker {s} picked task {id}",
    "slow query on table orders took {ms} ms", "rate limit hit for client {id}",
    "TLS handshake with 10.2.{s}.{s2}:443 failed: certificate expired",
    "sent {n} bytes to 10.3.{s}.{s2}:9000 in {ms} ms", "order {n} shipped to warehouse {s}",
    "GC pause {ms} ms, heap {n} KB", "request {id} from 192.168.{s}.{s2} completed",
    "file /var/data/part-{n}.parquet written ({n} rows)", "disk usage at {s}% on /dev/sda{s2}",
    "consumer lag {n} messages on partition {s}", "health check of {id} ok in {ms} ms",
    "invalid token for user {n}", "retry queue depth {n}", "batch {id} committed {n} rows",
    "DNS lookup of host-{s}.internal took {ms} ms", "thread pool-{s} saturated ({n} queued)",
    "OAuth refresh for client {id} succeeded", "cart {id} has {s} items worth {n} cents",
    "shard {s} rebalanced in {ms} ms", "webhook to https://hooks.example/{id} answered {s}",
    "index items_{s} refreshed, {n} docs", "lock order:{n} acquired after {ms} ms",
    "feature flag new_checkout evaluated {s} for user {n}", "uploaded /tmp/{id}.bin ({n} bytes)",
    "scheduler tick {n}: {s} jobs due", "mail to user {n} queued as {id}",
]
WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november "
         "oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()
SERVICES = ["web", "payments", "orders", "search", "auth", "batch"]


def message(rng, kind):
    if kind == "words":
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 14)))
    return rng.choice(TEMPLATES).format(n=rng.randint(1, 99999), ms=rng.randint(1, 900),
                                        s=rng.randint(1, 250), s2=rng.randint(1, 250),
                                        id="%016x" % rng.getrandbits(64))


def start(data_dir, args, log):
    p = subprocess.Popen([BIN, "serve", "--data", data_dir, "--listen", "127.0.0.1:0"] + args,
                         stdout=log, stderr=log, env=dict(os.environ, CLOUDLOG_MAX_RECORD_AGE="0",
                                                          CLOUDLOG_MAX_RECORD_FUTURE="0"))
    for _ in range(300):
        with open(log.name) as f:
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", f.read())
        if m:
            return p, int(m.group(1))
        if p.poll() is not None:
            sys.exit("daemon exited: see %s" % log.name)
        time.sleep(0.1)
    p.kill()
    sys.exit("daemon did not start: see %s" % log.name)


def stop_cpu(p):
    """Stops the daemon and returns its CPU seconds at exit: with the analytics catalog's
    last write (at shutdown), which the CPU time at "queue empty" misses."""
    p.terminate()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pid, _, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            p.returncode = 0
            return ru.ru_utime + ru.ru_stime
        time.sleep(0.05)
    p.kill()
    _, _, ru = os.wait4(p.pid, 0)
    p.returncode = -9
    return ru.ru_utime + ru.ru_stime


def stop(p):
    p.terminate()
    try:
        p.wait(timeout=120)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def queue(data_dir, records, kind, seed):
    rng = random.Random(seed)
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as log:
        p, port = start(data_dir, ["--no-processor"], log)
    now = int(time.time() * 1000)
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for first in range(0, records, 1000):
            lines = []
            for i in range(first, min(first + 1000, records)):
                lines.append(json.dumps({
                    "timestamp": now - (records - i) * 10, "service": rng.choice(SERVICES),
                    "level": "error" if rng.random() < 0.02 else "info",
                    "message": message(rng, kind)}))
            c.request("POST", "/v1/logs", body="\n".join(lines).encode(),
                      headers={"Content-Type": "application/x-ndjson"})
            r = c.getresponse()
            r.read()
            if r.status != 202:
                sys.exit("POST answered %d" % r.status)
    finally:
        stop(p)


def counts(db_path):
    import sqlite3
    db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=30)
    try:
        m = db.execute("SELECT count(*) FROM messages").fetchone()[0]
        u = db.execute("SELECT count(*) FROM objects WHERE published = 0").fetchone()[0]
        return m, u
    finally:
        db.close()


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def drain(src, mode, workers):
    work = tempfile.mkdtemp(prefix="cl-ancost-")
    try:
        shutil.copytree(src, work, dirs_exist_ok=True)
        with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as log:
            t0 = time.monotonic()
            p, _ = start(work, ["--analytics", mode, "--processor-workers", str(workers),
                                "--flush-age", "1s"], log)
        db = os.path.join(work, "queue.db")
        for _ in range(20000):
            if counts(db) == (0, 0):
                break
            time.sleep(0.05)
        wall = time.monotonic() - t0
        cpu = cpu_s(p.pid)
        cpu_exit = stop_cpu(p)
        with open(log.name) as f:
            m = re.search(r"analytics: (\d+) record.*?(\d+) lock wait\D*(\d*)", f.read())
        if m:  # how often the lock was found held, and a processor found the buffer full
            print("  analytics saw %s records, %s lock waits, %s full-buffer waits"
                  % m.groups(), flush=True)
        os.unlink(log.name)
        return wall, cpu, cpu_exit
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=300000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--messages", choices=["templates", "words"], default="templates")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    src = tempfile.mkdtemp(prefix="cl-ancost-src-")
    try:
        queue(src, a.records, a.messages, a.seed)
        res = {"on": [], "off": []}
        for r in range(a.rounds):
            for mode in (("on", "off") if r % 2 == 0 else ("off", "on")):
                wall, cpu, cpu_exit = drain(src, mode, a.workers)
                res[mode].append((wall, cpu, cpu_exit))
                print("round %d analytics %-3s: %.2f s, %.0f records/s, %.2f µs CPU/record"
                      " (%.2f with the shutdown and the catalog's last write)"
                      % (r + 1, mode, wall, a.records / wall, cpu / a.records * 1e6,
                         cpu_exit / a.records * 1e6), flush=True)
        med = {m: (statistics.median(x[0] for x in v), statistics.median(x[1] for x in v),
                   statistics.median(x[2] for x in v)) for m, v in res.items()}
        print("\n%d records (%s), %d processor workers, median of %d rounds:"
              % (a.records, a.messages, a.workers, a.rounds))
        print("| analytics | records/s | CPU µs/record | CPU µs/record to exit |\n|---|---|---|---|")
        for m in ("off", "on"):
            print("| %s | %.0f | %.2f | %.2f |" % (m, a.records / med[m][0],
                                                  med[m][1] / a.records * 1e6,
                                                  med[m][2] / a.records * 1e6))
        print("on/off: throughput with analytics on is %.1f%% of off; CPU per record %+.1f%%"
              % (100 * med["off"][0] / med["on"][0], 100 * (med["on"][1] / med["off"][1] - 1)))
    finally:
        shutil.rmtree(src, ignore_errors=True)


if __name__ == "__main__":
    main()
