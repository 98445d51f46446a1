"""The processor without inflating: every daemon of this file runs with analytics off
(CLOUDLOG_ANALYTICS=off), so messages with a member index (docs/pipeline.md, "Queue
messages") are routed by their index and their gzip members appended as they are.

- Re-runs, through that path, the existing tests whose results are visible in the store:
  DuckDB and zcat read the objects (test_duckdb), the mixed dataset lands exactly in its
  partitions with catalog rows matching the objects (test_process_e2e, cltest.check_store),
  kill -9 while processing stores every acknowledged record once (test_process_crash),
  corrupt rows without an index (messages of an earlier version) go to the DLQ alone while
  valid ones are stored (test_process_faults).
- New here: what ingest queues carries the index; a message whose index is intact but one
  of its members' bytes changed in the queue goes to the DLQ alone (the index is not used,
  the inflate path fails it) and none of its records is stored; `cloudlog verify` finds the
  store clean."""

import collections
import json
import os
import sqlite3

import cltest

cltest.DEFAULT_ENV["CLOUDLOG_ANALYTICS"] = "off"

from test_duckdb import DuckDB  # noqa: E402,F401  (re-run here with analytics off)
from test_process_crash import ProcessCrash  # noqa: E402,F401
from test_process_e2e import ProcessE2E  # noqa: E402,F401
from test_process_faults import ProcessFaults  # noqa: E402,F401

BASE_MS = 1767268800000  # 2026-01-01T12:00:00Z


def ndjson(prefix, n, services=("api", "web", "db")):
    return "".join(json.dumps({"ts": BASE_MS + i * 1000, "service": services[i % len(services)],
                               "level": ("info", "warn", "error")[i % 3],
                               "message": "%s %d" % (prefix, i), "seq": "%s-%d" % (prefix, i)})
                   + "\n" for i in range(n))


def index_of(body):
    """(version, partitioning) of a body's member index, or None without one."""
    if len(body) < 26 or body[:4] != b"\x1f\x8b\x08\x04" or body[12:14] != b"CL":
        return None
    return body[16], body[17]


class ProcessIndex(cltest.DaemonTestCase):
    ARGS = ["--flush-age", "300ms", "--retry-base", "100ms", "--retry-max", "1s",
            "--max-receive-count", "3", "--visibility-timeout", "5s"]

    def queue_three(self):
        """Three messages queued by a daemon without processors; returns its data dir."""
        d = self.daemon(args=["--no-processor"])
        for k in range(3):
            self.assertAccepted(d.post_logs(ndjson("m%d" % k, 30),
                                            content_type="application/x-ndjson"), 30)
        d.stop()
        return d.data_dir

    def test_ingest_writes_the_index(self):
        data = self.queue_three()
        db = sqlite3.connect(os.path.join(data, "queue.db"))
        try:
            bodies = [bytes(r[0]) for r in db.execute("SELECT body FROM messages ORDER BY id")]
        finally:
            db.close()
        self.assertEqual(len(bodies), 3)
        for b in bodies:
            self.assertEqual(index_of(b), (1, 1), "no member index (version 1, service+hour)")

    def test_damaged_member_goes_to_dlq_alone(self):
        data = self.queue_three()
        db_path = os.path.join(data, "queue.db")
        db = sqlite3.connect(db_path)
        try:
            mid, body = db.execute("SELECT id, body FROM messages ORDER BY id LIMIT 1 OFFSET 1"
                                   ).fetchone()
            body = bytearray(body)
            body[-12] ^= 0x55  # the last member's deflate data; the index itself is intact
            db.execute("UPDATE messages SET body = ? WHERE id = ?", (bytes(body), mid))
            db.commit()
        finally:
            db.close()
        d = self.daemon(data_dir=data, args=self.ARGS)
        cltest.wait_drained(data, timeout=60, dlq=1, daemon=d)
        dlq = cltest.table_rows(db_path, "dlq")
        self.assertEqual([r["id"] for r in dlq], [mid])
        self.assertEqual(dlq[0]["receive_count"], 1, "poison goes to the DLQ at once")
        self.assertIn("cannot decode message body", dlq[0]["last_error"])
        seqs = collections.Counter(json.loads(l)["seq"] for l, _ in cltest.check_store(self, data))
        self.assertEqual([s for s, c in seqs.items() if c > 1], [], "stored twice")
        want = ["m0-%d" % i for i in range(30)] + ["m2-%d" % i for i in range(30)]
        self.assertEqual(sorted(seqs), sorted(want), "the damaged message's records stored")
        d.stop()
        # every catalog row against its object, inflated (the DLQ row is a warning)
        rc, out, err = cltest.run_cli(["verify", "--data", data])
        self.assertIn("clean: no problems", out, out + err)


if __name__ == "__main__":
    cltest.main()
