"""Processor buffering, functionally:
- --flush-age: a trickle (one record every 300 ms for ~4 s) is published within
  age + slack of each record's POST (a generous 5 s functional bound, not a
  performance figure), in more than one object (an age flush, not one at the end).
- --flush-size: a ~20 MB burst to one partition with --flush-size 4MiB produces
  objects whose raw NDJSON size (gzip -dc | wc -c) is near the hint: none above the
  hint plus one queue message (the unit a worker adds at a time) plus a little slack,
  and at most one small (< hint/2) object per worker (the age-flushed remainders)."""

import collections
import json
import os
import random
import threading
import time

import cltest

BASE_MS = 1767286800000  # 2026-01-01T17:00:00Z
KiB, MiB = cltest.KiB, cltest.MiB


class ProcessBuffering(cltest.DaemonTestCase):
    def test_trickle_is_published_within_flush_age(self):
        d = self.daemon(args=["--flush-age", "1s", "--processor-workers", "2"])
        posted = {}   # seq -> monotonic time of its 202
        seen = {}     # seq -> monotonic time first seen in a published object
        read = {}     # key -> seqs
        stop = threading.Event()
        errors = []

        def watch():
            try:
                for _ in range(100000):
                    if stop.is_set():
                        break
                    objs, _, _ = cltest.store_scan(d.data_dir)
                    now = time.monotonic()
                    for o in objs:
                        if o["key"] not in read:
                            read[o["key"]] = [json.loads(l)["seq"]
                                              for l in cltest.object_lines(o["path"])]
                            for s in read[o["key"]]:
                                seen.setdefault(s, now)
                    time.sleep(0.05)
            except Exception as e:  # reported by the test thread
                errors.append(repr(e))

        w = threading.Thread(target=watch, daemon=True)
        w.start()
        try:
            n = 14
            for i in range(n):
                t0 = time.monotonic()
                line = json.dumps({"ts": BASE_MS + i * 1000, "service": "trickle",
                                   "message": "drip %d" % i, "seq": "drip-%d" % i})
                self.assertAccepted(d.post_logs(line + "\n", content_type="application/x-ndjson"), 1)
                posted["drip-%d" % i] = time.monotonic()
                time.sleep(max(0.0, 0.3 - (time.monotonic() - t0)))
            deadline = time.monotonic() + 15
            for _ in range(1000):
                if len(seen) >= n or time.monotonic() > deadline or errors:
                    break
                time.sleep(0.05)
        finally:
            stop.set()
            w.join(timeout=30)
        self.assertEqual(errors, [])
        self.assertEqual(sorted(seen), sorted(posted), "records not published within 15s")
        delays = {s: seen[s] - posted[s] for s in posted}
        print("publish delay after 202: max %.2fs, min %.2fs, %d objects"
              % (max(delays.values()), min(delays.values()), len(read)), flush=True)
        late = {s: round(v, 2) for s, v in delays.items() if v > 5.0}
        self.assertEqual(late, {}, "records published more than 5 s after their 202")
        self.assertGreaterEqual(len(read), 2, "a 4 s trickle with --flush-age 1s in one object")
        cltest.wait_drained(d.data_dir, timeout=30, dlq=0, daemon=d)
        seqs = collections.Counter(json.loads(l)["seq"] for l, _ in cltest.check_store(self, d.data_dir))
        self.assertEqual(dict(seqs), {s: 1 for s in posted})
        d.stop()

    def test_burst_objects_are_near_flush_size(self):
        workers = 2
        max_message = 1 * MiB  # the default; one queue message is what a worker adds at once
        hint = 4 * MiB
        d = self.daemon(args=["--flush-size", "4MiB", "--flush-age", "10s",
                              "--processor-workers", str(workers),
                              "--max-message", "1MiB"])
        rng = random.Random(7)
        total_raw, n_rec, seq = 0, 0, 0
        req_bytes = 1 * MiB
        for k in range(20):  # ~20 MiB in ~1 MiB requests, one partition
            lines = []
            size = 0
            while size < req_bytes - 2 * KiB:
                line = json.dumps({"ts": BASE_MS + seq, "service": "burst", "level": "info",
                                   "message": "burst %d" % seq, "seq": seq,
                                   "pad": "%x" % rng.getrandbits(4000)})
                lines.append(line)
                size += len(line) + 1
                seq += 1
            body = "\n".join(lines) + "\n"
            self.assertAccepted(d.post_logs(body, content_type="application/x-ndjson",
                                            encoding="gzip"), len(lines))
            n_rec += len(lines)
        cltest.wait_drained(d.data_dir, timeout=120, dlq=0, daemon=d)
        got = cltest.check_store(self, d.data_dir)
        self.assertEqual(len(got), n_rec)
        self.assertEqual(len({json.loads(l)["seq"] for l, _ in got}), n_rec)
        objs, _, _ = cltest.store_scan(d.data_dir)
        sizes = [len(cltest.gzip_dc(o["path"])) for o in objs]
        total_raw = sum(sizes)
        print("%d objects, raw sizes (MiB): %s; total %.1f MiB"
              % (len(sizes), ", ".join("%.2f" % (s / MiB) for s in sizes), total_raw / MiB),
              flush=True)
        bound = hint + max_message + 64 * KiB
        self.assertEqual([s for s in sizes if s > bound], [],
                         "objects above flush-size + one message (%d)" % bound)
        small = [s for s in sizes if s < hint // 2]
        self.assertLessEqual(len(small), workers,
                             "more than one small object per worker: %s" % small)
        self.assertGreaterEqual(len(sizes), 20 * req_bytes // bound)
        d.stop()

    def test_visibility_timeout_shorter_than_flush_age(self):
        """Messages held in buffers longer than --visibility-timeout must be kept
        invisible (or their second delivery skipped): still stored exactly once."""
        d = self.daemon(args=["--visibility-timeout", "1s", "--flush-age", "4s",
                              "--processor-workers", "2"])
        seqs = []
        for k in range(12):
            lines = []
            for i in range(25):
                s = "vis-%d-%d" % (k, i)
                seqs.append(s)
                lines.append(json.dumps({"ts": BASE_MS + (i % 3) * 3600000,
                                         "service": "vis%d" % (k % 2),
                                         "message": "held %s" % s, "seq": s}))
            self.assertAccepted(d.post_logs("\n".join(lines) + "\n",
                                            content_type="application/x-ndjson"), len(lines))
            time.sleep(0.25)
        cltest.wait_drained(d.data_dir, timeout=60, dlq=0, daemon=d)
        stored = [(json.loads(l)["seq"], o["key"]) for l, o in cltest.check_store(self, d.data_dir)]
        got = collections.Counter(s for s, _ in stored)
        dups = sorted(s for s, c in got.items() if c > 1)
        same_obj = sum(c - 1 for c in collections.Counter(stored).values() if c > 1)
        print("%d records, %d stored more than once (max %d copies; %d extra copies inside "
              "the same object)" % (len(seqs), len(dups), max(got.values()), same_obj), flush=True)
        self.assertEqual(dups[:10], [], "%d records stored more than once" % len(dups))
        self.assertEqual(sorted(got), sorted(seqs))
        d.stop()


if __name__ == "__main__":
    cltest.main()
