#!/usr/bin/env python3
"""syslog_bench.py - syslog TCP ingest throughput and server CPU, in one run, against
native NDJSON POST /v1/logs (bench_loadgen) as the baseline and syslog-ng in the
receiving role (TCP in, file out) as the peer.

    python3 bench/syslog_bench.py [--duration 10] [--warmup 2] [--connections 4]

Every receiver gets the same sender: CONNECTIONS TCP connections, each a thread writing
pre-built RFC 5424 messages with RFC 6587 octet counting (10,000 distinct messages of
~170 bytes, repeated) as fast as the receiver reads them. Measured over DURATION seconds
after WARMUP: records the receiver made durable (cloudlog: IngestedLogCount in /metrics,
i.e. committed to the queue with fsync; syslog-ng: its file destination's "processed"
counter - written, not fsynced) and the receiver's CPU (utime+stime from /proc; 100% =
one core). cloudlog runs with --no-processor, as bench/run_ingest.sh does, so ingest is
measured alone. runq% is the receiver's time runnable but waiting for a CPU (what a
loaded machine takes away). Needs build-release (cloudlog, bench_loadgen; CLOUDLOG_BENCH_BUILD
names another build directory, e.g. main's for an A/B) and, for the peer,
syslog-ng (Debian syslog-ng-core). Every process started here is stopped before exit.
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("CLOUDLOG_BENCH_BUILD", os.path.join(ROOT, "build-release"))
CLK_TCK = os.sysconf("SC_CLK_TCK")
procs = []


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def runq_wait_seconds(pid):
    """Seconds the process's threads have spent runnable but waiting for a CPU
    (/proc/PID/task/*/schedstat, field 2): what a loaded machine costs a receiver."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            pass  # a thread that ended between listdir and open
    return total / 1e9


def payload(n=10000):
    """n octet-counted RFC 5424 messages, one bytes object."""
    out = []
    # Timestamps within the last hour: the daemon refuses records outside its age window
    # (a fixed date made every record a rejection once the day had passed).
    hour = time.strftime("%Y-%m-%dT%H", time.gmtime(time.time() - 3600))
    for i in range(n):
        m = ('<165>1 %s:%02d:%02d.%03dZ web-%d shop %d ORD%d [order@32473 id="A-%d" '
             'amount="%d.%02d"] order %d placed by user u%d from 10.0.%d.%d'
             % (hour, i % 60, i % 60, i % 1000, i % 7, 1000 + i % 50, i % 100, i, i % 500,
                i % 100, i, i % 997, i % 256, (i * 7) % 256)).encode()
        out.append(b"%d %s" % (len(m), m))
    return b"".join(out), n


def sender(port, data, stop, counts, idx):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    sent = 0
    try:
        while not stop.is_set():
            s.sendall(data)
            sent += 1
    except OSError:
        pass
    counts[idx] = sent
    s.close()


def drive(port, conns, warmup, duration, sample):
    """Runs the senders; returns (records, cpu seconds, runq-wait seconds, seconds) of the
    measured window, from sample() -> (records so far, receiver cpu seconds, receiver
    seconds runnable but waiting for a CPU)."""
    data, _ = payload()
    stop = threading.Event()
    counts = [0] * conns
    ts = [threading.Thread(target=sender, args=(port, data, stop, counts, i))
          for i in range(conns)]
    for t in ts:
        t.start()
    try:
        time.sleep(warmup)
        r0, c0, w0, t0 = *sample(), time.monotonic()
        time.sleep(duration)
        r1, c1, w1, t1 = *sample(), time.monotonic()
    finally:
        stop.set()
        for t in ts:
            t.join(timeout=30)
    return r1 - r0, c1 - c0, w1 - w0, t1 - t0


def wait_for(pred, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise SystemExit("timed out waiting for %s" % what)


def start(args, log_path, **kw):
    log = open(log_path, "wb")
    p = subprocess.Popen(args, stdout=log, stderr=log, stdin=subprocess.DEVNULL, **kw)
    procs.append(p)
    return p


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def cloudlog_daemon(tmp, name, extra):
    data = os.path.join(tmp, name)
    log = os.path.join(tmp, name + ".log")
    p = start([os.path.join(BUILD, "cloudlog"), "serve", "--listen",
               "127.0.0.1:0", "--data", data, "--no-processor"] + extra, log)
    http = int(wait_for(lambda: re.search(r"listening on http://127\.0\.0\.1:(\d+)", read(log)),
                        "cloudlog to listen").group(1))
    return p, http, log


def ingested(http):
    body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % http, timeout=30).read()
    m = re.search(rb"^cloudlog_ingested_log_count_total (\d+)", body, re.M)
    return int(m.group(1)) if m else 0


def run_cloudlog_syslog(tmp, a):
    p, http, log = cloudlog_daemon(tmp, "syslog", ["--syslog-listen", "tcp://127.0.0.1:0"])
    port = int(wait_for(lambda: re.search(r"syslog: listening on tcp://127\.0\.0\.1:(\d+)",
                                          read(log)), "syslog port").group(1))
    try:
        return drive(port, a.connections, a.warmup, a.duration,
                     lambda: (ingested(http), cpu_seconds(p.pid), runq_wait_seconds(p.pid)))
    finally:
        stop(p)


def run_baseline(tmp, a):
    p, http, _ = cloudlog_daemon(tmp, "native", [])
    try:
        out = subprocess.run(
            [os.path.join(BUILD, "bench", "bench_loadgen"), "--url",
             "http://127.0.0.1:%d/v1/logs" % http, "--connections", "16", "--duration",
             str(a.duration), "--warmup", str(a.warmup), "--batch", "1000", "--server-pid",
             str(p.pid), "--json"], stdout=subprocess.PIPE, check=True, timeout=600).stdout
        js = json.loads(out)
        return js["events_per_s"], js.get("server_cpu_pct")
    finally:
        stop(p)


NG_CONF = """@version: 3.38
options {{ stats-freq(0); use-dns(no); dns-cache(no); keep-hostname(yes); }};
source s_net {{ syslog(ip("127.0.0.1") port({port}) transport("tcp") max-connections(64)); }};
destination d_file {{ file("{out}"); }};
log {{ source(s_net); destination(d_file); }};
"""


def ng_processed(ctl):
    out = subprocess.run(["syslog-ng-ctl", "stats", "--control", ctl], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, timeout=30).stdout.decode()
    for line in out.splitlines():
        f = line.split(";")
        if len(f) >= 6 and f[0] == "destination" and f[1] == "d_file" and f[4] == "processed":
            return int(f[5])
    return 0


def run_syslog_ng(tmp, a):
    ng = shutil.which("syslog-ng") or "/usr/sbin/syslog-ng"
    if not os.access(ng, os.X_OK):
        return None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    d = os.path.join(tmp, "ng")
    os.makedirs(d)
    conf = os.path.join(d, "ng.conf")
    with open(conf, "w") as f:
        f.write(NG_CONF.format(port=port, out=os.path.join(d, "out.log")))
    ctl = os.path.join(d, "ng.ctl")
    p = start([ng, "-F", "--no-caps", "-f", conf, "--persist-file", os.path.join(d, "p"),
               "--pidfile", os.path.join(d, "pid"), "--control", ctl], os.path.join(d, "log"))

    def listening():
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0
    try:
        wait_for(listening, "syslog-ng to listen")
        return drive(port, a.connections, a.warmup, a.duration,
                     lambda: (ng_processed(ctl), cpu_seconds(p.pid), runq_wait_seconds(p.pid)))
    finally:
        stop(p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--no-peer", action="store_true", help="skip syslog-ng")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="cloudlog-syslog-bench-")
    rows = []
    try:
        rate, cpu = run_baseline(tmp, a)
        rows.append(("cloudlog native NDJSON POST (16 conns x 1000 rec)", rate, cpu, None))
        n, c, w, t = run_cloudlog_syslog(tmp, a)
        rows.append(("cloudlog syslog TCP (%d conns, RFC 5424 octet)" % a.connections, n / t,
                     100 * c / t, 100 * w / t))
        if not a.no_peer:
            r = run_syslog_ng(tmp, a)
            if r:
                n, c, w, t = r
                rows.append(("syslog-ng syslog() TCP -> file (%d conns)" % a.connections, n / t,
                             100 * c / t, 100 * w / t))
    finally:
        for p in procs:
            stop(p)
        shutil.rmtree(tmp, ignore_errors=True)
    base = rows[0][1]
    print("syslog benchmark: %d cores, %.0fs measured after %.0fs warm-up"
          % (os.cpu_count(), a.duration, a.warmup))
    print("%-52s %12s %8s %10s %14s %10s" % ("receiver", "records/s", "vs 1st", "srv cpu%",
                                              "rec/cpu-s", "runq%"))
    for name, rate, cpu, runq in rows:
        per_cpu = "-" if not cpu else "%.0f" % (rate * 100 / cpu)
        print("%-52s %12.0f %7.0f%% %10s %14s %10s" % (
            name, rate, 100 * rate / base if base else 0, "-" if cpu is None else "%.0f" % cpu,
            per_cpu, "-" if runq is None else "%.0f" % runq))
    print("runq%: the receiver's threads' time runnable but waiting for a CPU, per wall "
          "second (100% = one thread all the time): above its cpu%, the machine's load, "
          "not the receiver, bounds records/s")


if __name__ == "__main__":
    sys.exit(main())
