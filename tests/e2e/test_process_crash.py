"""Processor exactly-once under kill -9: several rounds kill the daemon at random moments
while client threads POST unique records (spread over services and hours) and the
processor flushes often (--flush-age 200ms, --flush-size 64KiB); each round restarts on
the same data directory (start-up recovery runs then). Finally the last daemon drains
the queue: every acknowledged record is stored exactly once, no record is stored twice,
nothing unknown is stored, no staging file remains, and the catalog matches the files.

Set CL_E2E_SEED to replay a run (CL_E2E_KILL_ROUNDS: rounds, default 6)."""

import collections
import gzip
import http.client
import json
import os
import random
import threading
import time

import cltest

THREADS = 4
ROUNDS = int(os.environ.get("CL_E2E_KILL_ROUNDS", "6"))
ARGS = ["--flush-age", "200ms", "--flush-size", "64KiB", "--max-message", "16KiB",
        "--durability", "process"]
BASE_MS = 1767225600000  # 2026-01-01T00:00:00Z
SERVICES = ["api", "web", "worker", "db"]


class Client(cltest.LoadClient):
    """Unique records spread over 5 hours and 4 services, so flushes hit many partitions."""

    max_records = 60

    def make_record(self, seq, req):
        ts = BASE_MS + self.rng.randrange(5 * 3600 * 1000)  # 5 hours
        return {"ts": ts, "service": self.rng.choice(SERVICES),
                "level": self.rng.choice(cltest.LEVELS), "message": "crash %s" % seq,
                "seq": seq, "pad": "p" * self.rng.randint(0, 400)}


class ProcessCrash(cltest.DaemonTestCase):
    def test_kill9_while_processing_stores_each_acknowledged_record_once(self):
        seed = int(os.environ.get("CL_E2E_SEED", str(int(time.time() * 1000) % 1000000)))
        print("CL_E2E_SEED=%d" % seed, flush=True)
        rng = random.Random(seed)
        data = cltest.mkdtemp("cl-pcrash-")
        results, lock = [], threading.Lock()
        seen_objects = {}

        for rnd in range(ROUNDS):
            args = ARGS + ["--processor-workers", str(rng.choice([1, 2, 4]))]
            d = self.daemon(data_dir=data, args=args)
            # Random moment: early (recovery/first flushes) to well into steady flushing.
            n_acked = cltest.kill_under_load(self, d, Client, rnd, rng, THREADS, results, lock,
                                             2.0)
            print("round %d (%s): %d acknowledged requests, %d objects so far"
                  % (rnd, " ".join(args), n_acked, len(cltest.store_scan(data)[0])), flush=True)
            # Even right after a crash, published objects never hold a record twice.
            self.no_published_duplicates(data, seen_objects)

        # Last daemon: no load, drains everything, then a clean stop.
        d = self.daemon(data_dir=data, args=ARGS)
        # (staging leftovers are asserted last, so the exactly-once verdict comes first)
        cltest.wait_drained(data, timeout=120, dlq=0, daemon=d, staging=False)
        d.stop()
        _, staging, _ = cltest.store_scan(data)
        lines = [l for o, ls in cltest.stored_lines(data) for l in ls]
        self.verify(results, lines)
        self.assertEqual(cltest.integrity_check(os.path.join(data, "queue.db")), ["ok"])
        self.assertEqual(cltest.queue_counts(os.path.join(data, "queue.db")), (0, 0, 0))
        self.assertEqual(staging, [], "staging/.tmp files left after restart recovery, drain "
                         "and a clean stop")
        cltest.check_store(self, data)

    def test_sigterm_with_buffered_partitions_loses_and_duplicates_nothing(self):
        """Clean stop while partitions are buffered (long --flush-age): after the stop no
        staging file remains; a restart stores everything exactly once."""
        d = self.daemon(args=["--flush-age", "30s", "--processor-workers", "2"])
        seqs = []
        for k in range(10):
            lines = []
            for i in range(30):
                s = "term-%d-%d" % (k, i)
                seqs.append(s)
                lines.append(json.dumps({"ts": BASE_MS + i * 600000, "service": SERVICES[k % 4],
                                         "message": "term %s" % s, "seq": s}))
            resp = d.post_logs("\n".join(lines) + "\n", content_type="application/x-ndjson")
            self.assertAccepted(resp, len(lines))
        time.sleep(1.0)  # received and buffered, far from the age
        d.stop()
        objs, staging, strays = cltest.store_scan(d.data_dir)
        self.assertEqual(staging, [], "staging files after a clean stop")
        counts = cltest.queue_counts(d.db_path)
        print("after SIGTERM: %d objects, queue (messages, dlq, unpublished) = %r"
              % (len(objs), counts), flush=True)
        self.assertEqual(counts[2], 0, "unpublished catalog rows after a clean stop")
        d2 = self.daemon(data_dir=d.data_dir, args=["--flush-age", "500ms"])
        cltest.wait_drained(d2.data_dir, timeout=60, dlq=0, daemon=d2)
        d2.stop()
        got = collections.Counter(json.loads(l)["seq"] for l, _ in cltest.check_store(self, d2.data_dir))
        self.assertEqual(sorted(s for s, c in got.items() if c > 1), [], "stored twice")
        self.assertEqual(sorted(got), sorted(seqs))

    def no_published_duplicates(self, data, cache):
        """Reads every published object (cached by key: objects are immutable) and
        asserts no seq appears twice across them."""
        objs, _, _ = cltest.store_scan(data)
        counts = collections.Counter()
        for o in objs:
            if o["key"] not in cache:
                with gzip.open(o["path"], "rt", encoding="utf-8") as f:
                    cache[o["key"]] = [json.loads(l)["seq"] for l in f if l.strip()]
            counts.update(cache[o["key"]])
        dups = sorted(s for s, c in counts.items() if c > 1)
        self.assertEqual(dups[:10], [], "after a crash, %d records published twice" % len(dups))

    def verify(self, results, lines):
        counts = collections.Counter(json.loads(l)["seq"] for l in lines)
        dups = sorted(s for s, c in counts.items() if c > 1)
        outcomes = collections.Counter(o.split(":")[0] for _, _, o in results)
        print("outcomes: %s; %d records stored, %d stored twice or more"
              % (dict(outcomes), len(lines), len(dups)), flush=True)
        self.assertEqual(dups[:10], [], "%d records stored more than once" % len(dups))
        missing, refused_stored, partial_unknown = [], [], 0
        for req, seqs, outcome in results:
            present = [s for s in seqs if counts.get(s)]
            if outcome == "acked":
                missing.extend(s for s in seqs if not counts.get(s))
            elif outcome.startswith("refused"):
                refused_stored.extend(present)
            elif outcome == "unknown" and 0 < len(present) < len(seqs):
                partial_unknown += 1
        self.assertEqual(missing[:10], [], "%d acknowledged records not stored" % len(missing))
        self.assertEqual(refused_stored[:10], [], "records of refused requests were stored")
        print("unanswered requests stored in part: %d" % partial_unknown, flush=True)
        known = {s for _, seqs, _ in results for s in seqs}
        self.assertEqual([s for s in counts if s not in known][:10], [], "unknown records stored")
        self.assertNotIn("partial", outcomes)


if __name__ == "__main__":
    cltest.main()
