#!/usr/bin/env python3
"""ab_command.py - one command line run by several binaries, alternating, N times each:
wall time and CPU time (user + sys of the child, getrusage), min and median, and the
load average after. For A/B figures on a shared machine (docs/performance.md).

Usage: N=20 bench/ab_command.py BIN_A,BIN_B ARGS...
e.g.   bench/ab_command.py /tmp/main/cloudlog,build-release/cloudlog query --data STORE \\
           --service checkout --from T --to T+15m --limit 100 --stats
"""
import os
import resource
import statistics
import subprocess
import sys
import time


def run_once(argv):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   timeout=600)
    wall = (time.perf_counter() - t0) * 1000
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) * 1000
    return wall, cpu


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    bins, args = sys.argv[1].split(","), sys.argv[2:]
    n = int(os.environ.get("N", "20"))
    wall = {b: [] for b in bins}
    cpu = {b: [] for b in bins}
    for _ in range(n):
        for b in bins:
            w, c = run_once([b] + args)
            wall[b].append(w)
            cpu[b].append(c)
    for b in bins:
        print("%-45s wall min %8.2f median %8.2f ms | cpu min %8.2f median %8.2f ms" % (
            b, min(wall[b]), statistics.median(wall[b]), min(cpu[b]), statistics.median(cpu[b])))
    print("load average after: " + open("/proc/loadavg").read().strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
