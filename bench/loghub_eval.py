#!/usr/bin/env python3
"""Grouping accuracy of `cloudlog patterns learn` on the Loghub-2k tuning sets, plus
throughput and peak RSS on a larger synthetic input (docs/analytics.md).

Usage: bench/loghub_eval.py [--bin build-release/cloudlog] [--data DIR] [--lines N]

Grouping accuracy (GA) follows logparser's evaluator: rows whose EventId is empty are
dropped; a message counts as correct only when the predicted group holding it contains
exactly the messages of one true group (same set, no more, no fewer); GA = correct /
messages. This is an independent implementation of that definition.
"""
import argparse
import collections
import csv
import glob
import json
import os
import random
import re
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def grouping_accuracy(truth, pred):
    """truth, pred: equal-length lists of group labels (truth None = row ignored)."""
    keep = [i for i, t in enumerate(truth) if t not in (None, "")]
    true_groups = collections.defaultdict(set)
    pred_groups = collections.defaultdict(set)
    for i in keep:
        true_groups[truth[i]].add(i)
        pred_groups[pred[i]].add(i)
    correct = 0
    for members in pred_groups.values():
        labels = {truth[i] for i in members}
        if len(labels) == 1 and true_groups[labels.pop()] == members:
            correct += len(members)
    return correct / len(keep) if keep else 0.0


def read_set(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["Content"] for r in rows], [r["EventId"] for r in rows]


EXTRA = []


def learn(binary, messages, extra=()):
    """Runs the miner; returns (pattern ids, templates, stats line)."""
    data = "".join(m.replace("\n", " ").replace("\r", " ") + "\n" for m in messages)
    p = subprocess.run([binary, "patterns", "learn", "--stats", *EXTRA, *extra], input=data.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    out = [json.loads(l) for l in p.stdout.decode().splitlines()]
    assert len(out) == len(messages), (len(out), len(messages))
    return [o["pattern"] for o in out], [o["template"] for o in out], p.stderr.decode().strip()


def synthetic(messages_by_set, n, seed=7):
    """n messages made by repeating the tuning messages with their numbers varied."""
    rnd = random.Random(seed)
    pool = [m for ms in messages_by_set for m in ms]
    digit = lambda _m: str(rnd.randint(0, 9))
    return [re.sub(r"[0-9]", digit, rnd.choice(pool)) for _ in range(n)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build-release", "cloudlog"))
    ap.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "testdata", "loghub-2k"))
    ap.add_argument("--lines", type=int, default=1_000_000, help="synthetic input size")
    ap.add_argument("--show", help="print the wrong groups of this data set")
    ap.add_argument("--similarity", help="experiments: override the built-in threshold")
    args = ap.parse_args()
    if args.similarity:
        EXTRA.extend(["--similarity", args.similarity])
    files = sorted(glob.glob(os.path.join(args.data, "*_2k.log_structured.csv")))
    if not files:
        sys.exit("no *_2k.log_structured.csv in " + args.data)
    scores, all_msgs = [], []
    print("%-10s %6s %9s %9s" % ("dataset", "GA", "truth", "patterns"))
    for path in files:
        name = os.path.basename(path).split("_2k")[0]
        msgs, truth = read_set(path)
        pred, templates, _ = learn(args.bin, msgs)
        ga = grouping_accuracy(truth, pred)
        scores.append(ga)
        all_msgs.append(msgs)
        print("%-10s %6.4f %9d %9d" % (name, ga, len(set(truth)), len(set(pred))))
        if args.show == name:
            show_errors(msgs, truth, pred, templates)
    print("%-10s %6.4f" % ("average", sum(scores) / len(scores)))
    big = synthetic(all_msgs, args.lines)
    t0 = time.time()
    _, _, stats = learn(args.bin, big)
    wall = time.time() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print("throughput: %d synthetic messages, %s, wall %.2f s (incl. output)" %
          (len(big), stats, wall))
    print("peak RSS of the miner process: %.1f MiB (input held in memory)" % (rss / 1024))


def show_errors(msgs, truth, pred, templates):
    by_pred = collections.defaultdict(list)
    for i, p in enumerate(pred):
        by_pred[p].append(i)
    true_sizes = collections.Counter(truth)
    for p, idx in by_pred.items():
        labels = collections.Counter(truth[i] for i in idx)
        if len(labels) == 1 and true_sizes[truth[idx[0]]] == len(idx):
            continue
        print("  PRED %s [%d] %s" % (p, len(idx), templates[idx[0]][:150]))
        for lab, cnt in labels.most_common(4):
            ex = next(i for i in idx if truth[i] == lab)
            print("     %s %d/%d  %s" % (lab, cnt, true_sizes[lab], msgs[ex][:150]))


if __name__ == "__main__":
    main()
