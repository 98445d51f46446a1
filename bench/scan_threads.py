#!/usr/bin/env python3
"""scan_threads.py - a full scan by several `cloudlog` binaries, alternating, each with
--threads 1 and then --threads 2 back to back: wall time, CPU time (user + sys of the
child, getrusage), CPU per MB of raw bytes, the ratio of 2-thread to 1-thread wall time
of each round, and the CPU time of each thread (the calling thread and the scan helper
threads, from /proc/PID/task/TID/schedstat polled every 2 ms), and how long the calling
thread was blocked (not on a core nor waiting for one: mostly waiting for the other
threads at a join, which the machine's load does not count in). For A/B figures on a
shared machine (docs/performance.md "Full scan: objects taken one at a time").

Usage: ROUNDS=5 bench/scan_threads.py BIN_A,BIN_B --data STORE [QUERY ARGS...]
e.g.   bench/scan_threads.py /tmp/main/cloudlog,build-release/cloudlog --data STORE \\
           --since 48h --count --grep contention
MB is the store's raw bytes (the catalog's sum of raw_bytes of published objects), or
RAW_MB for a store without a catalog.
"""
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import time


def raw_mb(argv):
    if os.environ.get("RAW_MB"):  # a store without a catalog (objects listed)
        return float(os.environ["RAW_MB"])
    data = argv[argv.index("--data") + 1]
    db = sqlite3.connect("file:%s/queue.db?mode=ro" % data, uri=True)
    (raw,) = db.execute("SELECT sum(raw_bytes) FROM objects WHERE published = 1").fetchone()
    db.close()
    return raw / 1e6


def thread_ns(pid):
    """(CPU time, run-queue wait) in ns of each live thread of pid, by thread id."""
    out = {}
    try:
        tids = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                v = f.read().split()
                out[int(tid)] = (int(v[0]), int(v[1]))
        except (OSError, ValueError, IndexError):
            pass
    return out


def run_once(argv):
    """Wall ms, CPU ms (user + sys), the helpers' CPU ms (last seen, per thread) and the
    calling thread's blocked ms (wall minus its time on a core and waiting for one: joins,
    I/O, start and exit)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen = {}
    deadline = time.monotonic() + 600
    while p.poll() is None and time.monotonic() < deadline:
        seen.update(thread_ns(p.pid))
        time.sleep(0.002)
    if p.wait(timeout=max(1, deadline - time.monotonic())) != 0:
        raise SystemExit("command failed: %s" % " ".join(argv))
    wall = (time.perf_counter() - t0) * 1000
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    sys_ms = (r1.ru_stime - r0.ru_stime) * 1000
    cpu = (r1.ru_utime - r0.ru_utime) * 1000 + sys_ms
    helpers = [v[0] / 1e6 for tid, v in seen.items() if tid != p.pid]
    run, wait = seen.get(p.pid, (0, 0))
    return wall, cpu, helpers, wall - (run + wait) / 1e6, sys_ms


def main():
    if len(sys.argv) < 3 or "--data" not in sys.argv:
        print(__doc__)
        return 2
    bins, args = sys.argv[1].split(","), sys.argv[2:]
    rounds = int(os.environ.get("ROUNDS", "5"))
    mb = raw_mb(args)
    res = {(b, t): [] for b in bins for t in (1, 2)}
    ratio = {b: [] for b in bins}
    load0 = open("/proc/loadavg").read().split()[:3]
    for r in range(rounds):
        order = bins if r % 2 == 0 else list(reversed(bins))
        for b in order:
            walls = {}
            for t in (1, 2):
                w, c, h, blocked, sys_ms = run_once([b, "query"] + args + ["--threads", str(t)])
                res[(b, t)].append((w, c, h, blocked, sys_ms))
                walls[t] = w
            ratio[b].append(walls[2] / walls[1])
    med = statistics.median
    print("raw %.1f MB; %d rounds; load average before %s, after %s" % (
        mb, rounds, " ".join(load0), " ".join(open("/proc/loadavg").read().split()[:3])))
    for b in bins:
        for t in (1, 2):
            v = res[(b, t)]
            walls = [x[0] for x in v]
            cpus = [x[1] for x in v]
            helper = [sum(x[2]) for x in v]
            n_help = med([len(x[2]) for x in v])
            sys_ms = [x[4] for x in v]
            main_ms = [c - h for c, h in zip(cpus, helper)]
            print("%-40s t=%d wall min %7.1f med %7.1f ms (%6.1f MB/s best) | cpu med %7.1f ms "
                  "(%.3f ms/MB; sys %5.1f) | main %6.1f, helpers %6.1f ms in %g threads; "
                  "main blocked %5.1f ms" % (
                      b, t, min(walls), med(walls), mb / min(walls) * 1000, med(cpus),
                      med(cpus) / mb, med(sys_ms), med(main_ms), med(helper), n_help,
                      med([x[3] for x in v])))
        print("%-40s 2-thread / 1-thread wall, per round: %s (median %.3f)" % (
            b, " ".join("%.3f" % x for x in ratio[b]), med(ratio[b])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
