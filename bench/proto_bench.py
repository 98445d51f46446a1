#!/usr/bin/env python3
"""proto_bench.py - ingest throughput and server CPU per shipper protocol, in one run,
against native NDJSON POST /v1/logs on the same records as the baseline.

    python3 bench/proto_bench.py [--duration 10] [--warmup 2] [--rounds 1]
                                 [--only otlp_pb,loki_pb,...]

bench/proto_encode.js encodes the same seeded records (BODIES x RECORDS per body) once
per protocol with the real client libraries of tests/clients (OpenTelemetry's
serializers, winston-loki's protobuf + snappy, @elastic/elasticsearch's serializer,
splunk-logging, @msgpack/msgpack) into body files. Each HTTP protocol then gets a fresh
daemon (--no-processor, as bench/run_ingest.sh, so ingest is measured alone) loaded by
bench_loadgen --body-dir with those bodies over 16 keep-alive connections; syslog TCP gets
the same records as RFC 5424 octet-counted messages from 4 sender connections
(bench/syslog_bench.py's sender). Before a run, one body is posted and every one of its
records must be ingested (no record rejected), so the figures compare equal work.

Measured over DURATION seconds after WARMUP: records the daemon committed to its queue
with fsync (cloudlog_ingested_log_count_total in /metrics) and its CPU (utime+stime from
/proc; 100% = one core). The native baseline runs first and again last in every round, so
drift on a shared machine shows. Needs build-release (cloudlog, bench_loadgen; or the
directory CLOUDLOG_BENCH_BUILD names, for an A/B against another build), node and
tests/clients/node_modules (scripts/setup.sh). Every process started here is stopped
before exit.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import syslog_bench as sb  # noqa: E402  (daemon start/stop, /metrics, /proc, TCP sender)

ROOT = sb.ROOT
LOADGEN = os.path.join(sb.BUILD, "bench", "bench_loadgen")

# protocol -> (path, Content-Type)
HTTP = {
    "native": ("/v1/logs", "application/x-ndjson"),
    "otlp_pb": ("/v1/logs", "application/x-protobuf"),
    "otlp_json": ("/v1/logs", "application/json"),
    "loki_json": ("/loki/api/v1/push", "application/json"),
    "loki_pb": ("/loki/api/v1/push", "application/x-protobuf"),
    "es_bulk": ("/es/_bulk", "application/x-ndjson"),
    "hec": ("/services/collector/event", "application/json"),
    "msgpack": ("/v1/logs", "application/msgpack"),
    "json_stream": ("/v1/logs", "application/json"),
}
ORDER = ["otlp_pb", "otlp_json", "loki_json", "loki_pb", "es_bulk", "hec", "msgpack",
         "json_stream", "syslog"]


def encode(out, bodies, per_body):
    subprocess.run(["node", os.path.join(HERE, "proto_encode.js"), out, str(bodies),
                    str(per_body)], check=True, timeout=600, stdout=subprocess.DEVNULL)


def check_body(http, proto, body_dir, per_body):
    """Posts the first body once; every record of it must be ingested."""
    path, ctype = HTTP[proto]
    with open(os.path.join(body_dir, sorted(os.listdir(body_dir))[0]), "rb") as f:
        body = f.read()
    before = sb.ingested(http)
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (http, path), data=body,
                                 method="POST", headers={"Content-Type": ctype})
    with urllib.request.urlopen(req, timeout=60) as resp:
        status = resp.status
    got = sb.ingested(http) - before
    if status // 100 != 2 or got != per_body:
        raise SystemExit("%s: status %d, %d of %d records ingested" % (proto, status, got,
                                                                         per_body))


def window(a, sample):
    """(records, cpu seconds, seconds) between WARMUP and WARMUP + DURATION from now."""
    time.sleep(a.warmup)
    r0, c0, t0 = *sample(), time.monotonic()
    time.sleep(a.duration)
    r1, c1, t1 = *sample(), time.monotonic()
    return r1 - r0, c1 - c0, t1 - t0


def run_http(tmp, a, proto, bodies):
    path, ctype = HTTP[proto]
    p, http, _ = sb.cloudlog_daemon(tmp, proto, [])
    try:
        body_dir = os.path.join(bodies, proto)
        check_body(http, proto, body_dir, a.records)
        lg = subprocess.Popen(
            [LOADGEN, "--url", "http://127.0.0.1:%d%s" % (http, path), "--body-dir", body_dir,
             "--content-type", ctype, "--batch", str(a.records), "--connections", "16",
             "--warmup", str(a.warmup), "--duration", str(a.duration + 1), "--json"],
            stdout=subprocess.PIPE)
        try:
            n, c, t = window(a, lambda: (sb.ingested(http), sb.cpu_seconds(p.pid)))
            out, _ = lg.communicate(timeout=a.duration + a.warmup + 120)
        finally:
            if lg.poll() is None:
                lg.kill()
                lg.wait()
        js = json.loads(out)
        if js.get("non2xx"):
            print("note: %s: %d non-2xx answers (%d of them 503)" % (proto, js["non2xx"],
                                                                     js.get("st503", 0)))
        return n / t, 100 * c / t
    finally:
        sb.stop(p)
        shutil.rmtree(os.path.join(tmp, proto), ignore_errors=True)


def run_syslog(tmp, a, bodies):
    with open(os.path.join(bodies, "syslog", "stream"), "rb") as f:
        data = f.read()
    p, http, log = sb.cloudlog_daemon(tmp, "syslog", ["--syslog-listen", "tcp://127.0.0.1:0"])
    try:
        port = int(sb.wait_for(lambda: sb.re.search(
            r"syslog: listening on tcp://127\.0\.0\.1:(\d+)", sb.read(log)),
            "syslog port").group(1))
        stop = sb.threading.Event()
        counts = [0] * a.connections
        ts = [sb.threading.Thread(target=sb.sender, args=(port, data, stop, counts, i))
              for i in range(a.connections)]
        for t in ts:
            t.start()
        try:
            n, c, t = window(a, lambda: (sb.ingested(http), sb.cpu_seconds(p.pid)))
        finally:
            stop.set()
            for th in ts:
                th.join(timeout=30)
        return n / t, 100 * c / t
    finally:
        sb.stop(p)
        shutil.rmtree(os.path.join(tmp, "syslog"), ignore_errors=True)


def run_round(tmp, a, bodies, rows, label):
    rows.append((label + "native NDJSON (baseline)", *run_http(tmp, a, "native", bodies)))
    base = rows[-1][1]
    for proto in a.only:
        r = run_syslog(tmp, a, bodies) if proto == "syslog" else run_http(tmp, a, proto, bodies)
        rows.append((label + proto, *r, base))
    rows.append((label + "native NDJSON (again)", *run_http(tmp, a, "native", bodies)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--bodies", type=int, default=32, help="distinct bodies per protocol")
    ap.add_argument("--records", type=int, default=1000, help="records per body")
    ap.add_argument("--connections", type=int, default=4, help="syslog TCP senders")
    ap.add_argument("--only", default=",".join(ORDER), help="protocols, comma-separated")
    a = ap.parse_args()
    a.only = [p for p in a.only.split(",") if p]
    for p in a.only:
        if p not in ORDER:
            raise SystemExit("unknown protocol %s (one of %s)" % (p, ", ".join(ORDER)))
    tmp = tempfile.mkdtemp(prefix="cloudlog-proto-bench-")
    rows = []
    try:
        bodies = os.path.join(tmp, "bodies")
        encode(bodies, a.bodies, a.records)
        for r in range(a.rounds):
            run_round(tmp, a, bodies, rows, "#%d " % (r + 1) if a.rounds > 1 else "")
    finally:
        for p in sb.procs:
            sb.stop(p)
        shutil.rmtree(tmp, ignore_errors=True)
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print("protocol benchmark: %d cores, load average %s at the end, %.0fs measured after "
          "%.0fs warm-up, %d distinct bodies of %d records" % (
              os.cpu_count(), load, a.duration, a.warmup, a.bodies, a.records))
    print("%-32s %12s %9s %10s %14s" % ("receiver", "records/s", "vs base", "srv cpu%",
                                        "rec/cpu-s"))
    for row in rows:
        name, rate, cpu = row[:3]
        vs = "%.0f%%" % (100 * rate / row[3]) if len(row) > 3 and row[3] else "-"
        print("%-32s %12.0f %9s %10.0f %14.0f" % (name, rate, vs, cpu,
                                                  rate * 100 / cpu if cpu else 0))


if __name__ == "__main__":
    sys.exit(main())
