"""kill -9 while messages are in flight: the next start makes them visible at once (not
after the visibility timeout) and takes back the dead process's receive, so crashes
never push acknowledged records towards the DLQ.

- Each of several cycles starts the daemon with a 10-minute visibility timeout and a
  long flush age (so the processor holds every message, received and buffered), waits
  until every message is in flight, and kills it with SIGKILL. Were the dead process's
  receives counted and its messages hidden until the timeout, the next cycle would never
  see them in flight again and --max-receive-count 2 would move them to the DLQ.
- After the cycles, an ingest-only start shows the messages visible with receive count
  0 and RecentUncleanRestarts (the CrashLoop alarm's metric) counts the crashes; a last
  daemon stores every record exactly once with nothing in the DLQ.
- A second daemon on the same queue file is refused while the first runs."""

import collections
import json
import os
import time

import cltest

BASE_MS = 1767268800000  # 2026-01-01T12:00:00Z
CYCLES = 4
POSTS = 5
HOLD_ARGS = ["--visibility-timeout", "600s", "--flush-age", "600s", "--max-receive-count", "2",
             "--processor-workers", "1", "--durability", "process"]


def ndjson(k, n=20):
    return "".join(json.dumps({"ts": BASE_MS + i * 1000, "service": "crash", "message": "m",
                               "seq": "%d-%d" % (k, i)}) + "\n" for i in range(n))


def rows(db_path):
    return cltest.table_rows(db_path, "messages")


def wait_for(pred, timeout, what, daemon):
    deadline = time.monotonic() + timeout
    last = None
    for _ in range(int(timeout / 0.05) + 10):
        last = pred()
        if last:
            return last
        if time.monotonic() > deadline or not daemon.alive():
            break
        time.sleep(0.05)
    raise AssertionError("timed out after %ss waiting for %s (last %r); log:\n%s"
                         % (timeout, what, last, daemon.log_tail()))


class CrashRelease(cltest.DaemonTestCase):
    def test_kill9_in_flight_messages_resume_at_once_uncounted(self):
        data = cltest.mkdtemp("cl-crashrel-")
        now_ms = lambda: int(time.time() * 1000)
        t0 = now_ms()
        d = self.daemon(data_dir=data, args=HOLD_ARGS)
        for k in range(POSTS):
            self.assertAccepted(d.post_logs(ndjson(k), content_type="application/x-ndjson"), 20)
        db = d.db_path
        for cycle in range(CYCLES):
            if cycle:
                t0 = now_ms()
                d = self.daemon(data_dir=data, args=HOLD_ARGS)
            # Every message received by THIS process (hidden for 10 minutes from now on),
            # long before the previous process's 10 minutes are over.
            wait_for(lambda: len([r for r in rows(db) if r["visible_at"] >= t0 + 600000])
                     == POSTS, 60, "all %d messages received in cycle %d" % (POSTS, cycle), d)
            counts = sorted(r["receive_count"] for r in rows(db))
            self.assertEqual(counts, [1] * POSTS, "cycle %d: receive counts" % cycle)
            d.kill()

        # Ingest only: visible now, with the dead receive taken back.
        d = self.daemon(data_dir=data, args=["--no-processor"])
        got = rows(db)
        self.assertEqual(len(got), POSTS)
        self.assertTrue(all(r["visible_at"] <= now_ms() for r in got), got)
        self.assertEqual([r["receive_count"] for r in got], [0] * POSTS)
        self.assertIn("did not stop cleanly", d.log_text())
        metrics = d.request("GET", "/metrics")[2].decode()
        self.assertIn("cloudlog_recent_unclean_restarts %d\n" % CYCLES, metrics)  # CrashLoop
        d.stop()

        d = self.daemon(data_dir=data, args=["--flush-age", "200ms"])
        cltest.wait_drained(data, timeout=120, dlq=0, daemon=d)
        d.stop()
        seqs = collections.Counter(json.loads(l)["seq"] for l, _ in cltest.check_store(self, data))
        self.assertEqual(sorted(s for s, c in seqs.items() if c > 1), [], "stored twice")
        self.assertEqual(len(seqs), POSTS * 20)
        self.assertEqual(cltest.queue_counts(db), (0, 0, 0))

    def test_second_daemon_on_the_same_queue_is_refused(self):
        d = self.daemon()
        second = cltest.Daemon(data_dir=d.data_dir)
        second.start(wait_ready=False)
        rc = second.wait_exit(30)
        self.assertNotEqual(rc, 0)
        self.assertIn("in use by another cloudlog serve", second.log_text())
        self.assertTrue(d.alive())
        d.stop()


if __name__ == "__main__":
    cltest.main()
