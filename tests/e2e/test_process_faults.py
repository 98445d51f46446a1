"""Processor faults.

- Store outage: while the daemon runs, DATA/logs is renamed away and a regular FILE is
  put in its place (every write under it fails with ENOTDIR, even as root). Ingest keeps
  answering 202; the processor's circuit breaker opens (StoreCircuitOpen 1 in /metrics),
  nothing is received while it is open and no receive is counted, so after longer than
  every retry would take nothing is in the DLQ; once the directory is back, every record
  (posted before and during the fault) is stored exactly once without an operator.
- Corrupt messages: rows whose body is not gzip NDJSON of normalized records are inserted
  straight into queue.db next to valid ones (same transaction, so the same receive
  batch) while valid POSTs go on: only the corrupt rows reach the DLQ, at their first
  receive, each with a last_error; every valid record is stored exactly once."""

import collections
import gzip
import json
import os
import sqlite3
import time

import cltest

BASE_MS = 1767268800000  # 2026-01-01T12:00:00Z


def ndjson(prefix, n, service="faults", start=0):
    return "".join(json.dumps({"ts": BASE_MS + (start + i) * 60000, "service": service,
                               "level": "warn", "message": "%s %d" % (prefix, i),
                               "seq": "%s-%d" % (prefix, start + i)}) + "\n"
                   for i in range(n))


def stored_seqs(tc, data_dir):
    return collections.Counter(json.loads(l)["seq"] for l, _ in cltest.check_store(tc, data_dir))


def wait_for(pred, timeout, what, daemon=None, step=0.1):
    """cltest.wait_for, with a queue.db read that fails (busy, locked) counting as "not yet"."""
    def pred_or_busy():
        try:
            return pred()
        except sqlite3.OperationalError:
            return None
    return cltest.wait_for(pred_or_busy, timeout, what, daemon=daemon, step=step)


def dlq_rows(db_path):
    return cltest.table_rows(db_path, "dlq")


class ProcessFaults(cltest.DaemonTestCase):
    ARGS = ["--flush-age", "300ms", "--retry-base", "100ms", "--retry-max", "1s",
            "--max-receive-count", "3", "--visibility-timeout", "5s"]

    def test_store_outage_sends_nothing_to_dlq_and_stores_all_after(self):
        d = self.daemon(args=self.ARGS)
        logs = cltest.store_dir(d.data_dir)
        # Before the fault: stored normally.
        self.assertAccepted(d.post_logs(ndjson("before", 50), content_type="application/x-ndjson"), 50)
        cltest.wait_drained(d.data_dir, timeout=60, dlq=0, daemon=d)
        self.assertEqual(sum(stored_seqs(self, d.data_dir).values()), 50)

        # The fault: a regular file where the store directory should be.
        away = logs + ".away"
        os.rename(logs, away)
        with open(logs, "w") as f:
            f.write("not a directory\n")
        try:
            n_during = 0
            for k in range(5):
                resp = d.post_logs(ndjson("during", 40, start=k * 40, service="svc%d" % (k % 2)),
                                   content_type="application/x-ndjson")
                self.assertAccepted(resp, 40)  # ingest keeps answering
                n_during += 40
            self.assertEqual(d.request("GET", "/healthz")[0], 200)
            # The breaker opens and /metrics says so.
            wait_for(lambda: "cloudlog_store_circuit_open 1" in d.request("GET", "/metrics")[2].decode(),
                     60, "StoreCircuitOpen 1 in /metrics", daemon=d)
            # Longer than 3 receives with their backoff (100 ms doubling to 1 s) would
            # take: the old behaviour had every message in the DLQ by now.
            deadline = time.monotonic() + 8
            for _ in range(100):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            self.assertEqual(dlq_rows(d.db_path), [], "messages moved to the DLQ by a store outage")
            counts = [r["receive_count"] for r in cltest.table_rows(d.db_path, "messages")]
            print("after the outage: %d messages queued, receive counts %s"
                  % (len(counts), sorted(set(counts))), flush=True)
            self.assertEqual(len(counts), 5)
            self.assertTrue(all(c <= 1 for c in counts), counts)
            self.assertTrue(d.alive(), "daemon died under a failing store:\n" + d.log_tail())
        finally:
            if os.path.isfile(logs):
                os.unlink(logs)
            if os.path.isdir(away) and not os.path.exists(logs):
                os.rename(away, logs)

        # The store is back: everything is stored without an operator, exactly once.
        cltest.wait_drained(d.data_dir, timeout=90, dlq=0, daemon=d)
        self.assertIn("cloudlog_store_circuit_open 0", d.request("GET", "/metrics")[2].decode())
        seqs = stored_seqs(self, d.data_dir)
        want = ["before-%d" % i for i in range(50)] + ["during-%d" % i for i in range(n_during)]
        self.assertEqual(sorted(s for s, c in seqs.items() if c > 1), [], "stored twice")
        self.assertEqual(sorted(seqs), sorted(want))
        d.stop()
        self.assertEqual(cltest.store_scan(d.data_dir)[1], [], "staging files after stop")

    def test_corrupt_messages_go_to_dlq_alone(self):
        d = self.daemon(args=self.ARGS)
        self.assertAccepted(d.post_logs(ndjson("warm", 5), content_type="application/x-ndjson"), 5)

        good_lines = [cltest.norm_line(cltest.ms_text(BASE_MS + i * 1000), "error", "sqlsvc",
                                       "direct %d" % i, '"seq":"direct-%d"' % i)
                      for i in range(30)]

        def valid_row(lines):
            raw = "".join(l + "\n" for l in lines).encode()
            tss = [cltest.ts_ms(json.loads(l)["timestamp"]) for l in lines]
            return (gzip.compress(raw), len(lines), len(raw), min(tss), max(tss))

        trunc_src = "".join(cltest.norm_line(cltest.ms_text(BASE_MS + i), "info", "sqlsvc",
                                             "trunc %d" % i, '"seq":"trunc-%d"' % i) + "\n"
                            for i in range(150)).encode()
        corrupt = {
            "garbage": (b"\x00not gzip at all\xff" * 4, 1, 20, BASE_MS, BASE_MS),
            "gzip-not-json": (gzip.compress(b"this is not json\n{oops\n"), 2, 23, BASE_MS, BASE_MS),
            # records of this one must not be stored either: they would be stored again
            # after a redrive
            "truncated-gzip": (gzip.compress(trunc_src)[:-40], 150, len(trunc_src),
                               BASE_MS, BASE_MS + 149),
        }
        rows = [("good", valid_row(good_lines[0:10])), ("garbage", corrupt["garbage"]),
                ("good", valid_row(good_lines[10:20])), ("gzip-not-json", corrupt["gzip-not-json"]),
                ("truncated-gzip", corrupt["truncated-gzip"]), ("good", valid_row(good_lines[20:30]))]

        now = int(time.time() * 1000)
        db = sqlite3.connect(d.db_path, timeout=30)
        ids = {}
        try:
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("BEGIN IMMEDIATE")
            for name, (body, count, raw, mn, mx) in rows:
                ids.setdefault(name, []).append(cltest.insert_message(
                    db, sqlite3.Binary(body), count, raw, mn, mx, "gzip", now, now))
            db.commit()
        finally:
            db.close()
        # Valid posts alongside.
        for k in range(5):
            self.assertAccepted(d.post_logs(ndjson("post", 20, start=k * 20),
                                            content_type="application/x-ndjson"), 20)

        bad_ids = sorted(ids["garbage"] + ids["gzip-not-json"] + ids["truncated-gzip"])
        wait_for(lambda: sorted(r["id"] for r in dlq_rows(d.db_path)) == bad_ids
                 and cltest.queue_counts(d.db_path)[0] == 0,
                 60, "exactly the corrupt messages in the DLQ and the queue empty", daemon=d)
        cltest.wait_drained(d.data_dir, timeout=60, dlq=len(bad_ids), daemon=d)
        for r in dlq_rows(d.db_path):
            self.assertTrue(r.get("last_error"), "DLQ row %s without last_error" % r["id"])
            print("DLQ %s: receive_count=%s last_error=%r"
                  % (r["id"], r.get("receive_count"), r["last_error"]), flush=True)
            self.assertEqual(r.get("receive_count"), 1, "poison must go to the DLQ at once")
        self.assertTrue(d.alive())

        got = cltest.check_store(self, d.data_dir)
        lines = collections.Counter(l for l, _ in got)
        self.assertEqual([l for l, c in lines.items() if c > 1], [], "stored twice")
        # The directly inserted valid messages: stored byte for byte.
        for l in good_lines:
            self.assertEqual(lines.get(l), 1, "direct line not stored once: %s" % l)
        seqs = collections.Counter(json.loads(l)["seq"] for l in lines)
        want = (["warm-%d" % i for i in range(5)] + ["post-%d" % i for i in range(100)]
                + ["direct-%d" % i for i in range(30)])
        self.assertEqual(sorted(seqs), sorted(want),
                         "stored records (the truncated message's records must not be)")
        d.stop()
        self.assertEqual(cltest.store_scan(d.data_dir)[1], [], "staging files after stop")


if __name__ == "__main__":
    cltest.main()
