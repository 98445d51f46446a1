#!/usr/bin/env python3
"""analytics_digest_eval.py - would a per-member digest of shape keys pay? (docs/analytics.md
"Cost inline, third round"). Counts, per queue-message member (the records of one service
in one message), the distinct message shapes (a message with each digit run replaced by its
length: what the first shape key, cl_an_shape_key, told apart; the miner's
cl_mask_shape_key of the fourth round tells fewer apart), how many members exceed a digest cap, and how
many records' shapes their service saw before:

  1. bench/analytics_cost.py's records (same generator and seed): 200 messages of 1,000
     records over its 6 services, templated and random words;
  2. the Loghub-2k tuning sets' Content column, in members of 167 and of 1,000 records.

Usage: bench/analytics_digest_eval.py [--data ../shared/testdata/loghub-2k] [--cap 64]"""

import argparse
import csv
import glob
import importlib.util
import os
import random
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shape(m):
    return re.sub(r"[0-9]+", lambda x: "\0%d" % len(x.group()), m)


def cost_bench(kind, cap):
    spec = importlib.util.spec_from_file_location("ac", os.path.join(ROOT, "bench",
                                                                     "analytics_cost.py"))
    ac = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ac)
    rng = random.Random(1)
    seen, hits, n, entries, members, over, with_new = {}, 0, 0, 0, 0, 0, 0
    for _ in range(200):
        per = {}
        for _ in range(1000):
            svc = rng.choice(ac.SERVICES)
            rng.random()  # the level draw, as analytics_cost.py makes it
            k = shape(ac.message(rng, kind))
            new = k not in seen.setdefault(svc, set())
            seen[svc].add(k)
            hits += not new
            n += 1
            per.setdefault(svc, []).append((k, new))
        for v in per.values():
            d = len({k for k, _ in v})
            members += 1
            entries += d
            over += d > cap
            with_new += any(new for _, new in v)
    print("analytics_cost %-9s: %.0f shapes per member of ~%d records, %d of %d members over "
          "%d, %.1f%% of records a shape seen before, %d members with an unseen shape"
          % (kind, entries / members, n // members, over, members, cap, 100.0 * hits / n,
             with_new))


def loghub(data, cap):
    for size in (167, 1000):
        records = entries = members = over = 0
        rows = []
        for f in sorted(glob.glob(os.path.join(data, "*_structured.csv"))):
            with open(f, encoding="utf-8", errors="replace") as fh:
                msgs = [r["Content"] for r in csv.DictReader(fh)]
            ds = [len({shape(m) for m in msgs[i:i + size]}) for i in range(0, len(msgs), size)]
            records += len(msgs)
            entries += sum(ds)
            members += len(ds)
            over += sum(d > cap for d in ds)
            rows.append("%s %.0f" % (os.path.basename(f).split("_")[0], sum(ds) / len(ds)))
        print("loghub members of %4d: %.3f shapes per record, %d of %d members over %d (%s)"
              % (size, entries / records, over, members, cap, ", ".join(rows)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "testdata", "loghub-2k"))
    ap.add_argument("--cap", type=int, default=64)
    a = ap.parse_args()
    for kind in ("templates", "words"):
        cost_bench(kind, a.cap)
    loghub(a.data, a.cap)


if __name__ == "__main__":
    main()
