#!/usr/bin/env python3
"""Runs `cloudlog anomalies score` over the NAB corpus and scores it with NAB's own
scorer (docs/analytics.md). NAB is not part of this repository: pass a checkout of
numenta/NAB (its data, labels and run.py are used in place; results go to its
results/cloudlog/). Needs python3-pandas for NAB's scorer.

Usage: bench/nab_eval.py --nab /path/to/NAB [--bin build-release/cloudlog]
"""
import argparse
import glob
import json
import os
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NAME = "cloudlog"


def in_windows(ts, windows):
    # NAB timestamps are 'YYYY-MM-DD HH:MM:SS[.ffffff]': string order is time order.
    return any(a[:19] <= ts[:19] <= b[:19] for a, b in windows)


def detect(binary, nab):
    with open(os.path.join(nab, "labels", "combined_windows.json")) as f:
        windows = json.load(f)
    points, seconds = 0, 0.0
    for rel in sorted(windows):
        src = os.path.join(nab, "data", rel)
        category, fname = os.path.split(rel)
        out_dir = os.path.join(nab, "results", NAME, category)
        os.makedirs(out_dir, exist_ok=True)
        with open(src, "rb") as f:
            data = f.read()
        t0 = time.perf_counter()
        out = subprocess.run([binary, "anomalies", "score"], input=data, check=True,
                             stdout=subprocess.PIPE).stdout.decode().splitlines()
        seconds += time.perf_counter() - t0
        points += len(out) - 1
        with open(os.path.join(out_dir, "%s_%s" % (NAME, fname)), "w") as f:
            f.write(out[0] + ",label\n")
            for line in out[1:]:
                ts = line.split(",", 1)[0]
                f.write("%s,%d\n" % (line, in_windows(ts, windows[rel])))
    return points, seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nab", required=True, help="a checkout of numenta/NAB")
    ap.add_argument("--python", default="/usr/bin/python3",
                    help="the Python that has Debian's python3-pandas")
    ap.add_argument("--bin", default=os.path.join(ROOT, "build-release", "cloudlog"))
    args = ap.parse_args()
    points, seconds = detect(os.path.abspath(args.bin), args.nab)
    print("scored %d points in %.2f s (process start-up included)" % (points, seconds))
    subprocess.run([args.python, "run.py", "-d", NAME, "--optimize", "--score",
                    "--normalize", "--skipConfirmation", "-n", "1"], cwd=args.nab, check=True)
    with open(os.path.join(args.nab, "results", "final_results.json")) as f:
        print(json.dumps(json.load(f).get(NAME), indent=1))


if __name__ == "__main__":
    main()
