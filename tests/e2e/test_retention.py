"""End-to-end tests of local store retention (--retention, `cloudlog retention`): whole
expired dt=/hour= partitions go with their catalog rows, oldest first; recent partitions and
partitions still receiving stay; the metrics count the bytes freed and show the store's size
and horizon; --retention is refused where S3 lifecycle rules apply; the queue's message
retention is --queue-retention."""

import os
import re
import time

import cltest

DAY_MS = 86400 * 1000


def hour_start(ms):
    return ms - ms % 3600000


def metric(d, name):
    st, _, data = d.request("GET", "/metrics")
    assert st == 200, st
    m = re.search(r"^%s (\S+)$" % re.escape(name), data.decode(), re.M)
    return float(m.group(1)) if m else None


class Retention(cltest.DaemonTestCase):
    def fill(self):
        """A daemon's data directory with three partitions of service 'old' 10 days ago
        (hours h, h+1, h+2), one of 'old' 1 day ago and one of 'new' now, all stored."""
        now = int(time.time() * 1000)
        old = hour_start(now - 10 * DAY_MS)
        self.old_hours = [old + i * 3600000 for i in range(3)]
        records = [{"timestamp": cltest.ms_text(t + 60000 + j), "service": "old",
                    "message": "old %d" % j} for t in self.old_hours for j in range(4)]
        records.append({"timestamp": cltest.ms_text(now - DAY_MS), "service": "old",
                        "message": "yesterday"})
        records.append({"timestamp": cltest.ms_text(now), "service": "new", "message": "now"})
        self.recent_ts = now - DAY_MS
        d = self.daemon(args=["--flush-age", "1s"])
        st, _, js = d.post_logs(records)
        self.assertEqual((st, js["accepted"]), (202, len(records)), js)
        cltest.wait_for(lambda: sum(1 for o in cltest.store_scan(d.data_dir)[0]) >= 5 and
                        cltest.count_rows(d.db_path, "messages") == 0, 60,
                        "every record stored", daemon=d)
        return d

    def rows_by_partition(self, data_dir):
        rows = cltest.table_rows(os.path.join(data_dir, "queue.db"), "objects")
        return sorted({(r["service"], r["dt"], r["hour"]) for r in rows})

    def test_dry_run_then_scheduled_pass(self):
        d = self.fill()
        objects = cltest.store_scan(d.data_dir)[0]
        # By (dt, hour): the three hours may span midnight (a run after 22:00 UTC).
        old_parts = {time.strftime("%Y-%m-%d/%H", time.gmtime(t / 1000)) for t in self.old_hours}
        old_keys = [o["key"] for o in objects if o["service"] == "old" and
                    "%s/%s" % (o["dt"], o["hour"]) in old_parts]
        self.assertEqual(len(old_keys), 3)
        # Just written: still receiving under the default --retention-quiet (1h).
        rc, out, err = cltest.run_cli(["retention", "--data", d.data_dir, "--retention", "2d",
                                       "--dry-run"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.strip(), "would delete 0 partition(s), 0 object(s), 0 record(s), "
                                      "0 bytes")
        # Quiet 0s: the three old hours, oldest first, beside the running daemon.
        rc, out, err = cltest.run_cli(["retention", "--data", d.data_dir, "--retention", "2d",
                                       "--retention-quiet", "0s", "--dry-run"])
        self.assertEqual(rc, 0, err)
        lines = out.strip().split("\n")
        self.assertEqual([ln.split("\t")[0] for ln in lines[:-1]],
                         [k.rsplit("/", 1)[0] for k in old_keys])
        self.assertRegex(lines[-1], r"^would delete 3 partition\(s\), 3 object\(s\), 12 record")
        would_bytes = int(re.search(r"(\d+) bytes$", lines[-1]).group(1))
        self.assertEqual(len(cltest.store_scan(d.data_dir)[0]), len(objects))  # nothing gone
        d.stop()

        # The daemon's own pass, on its schedule.
        d2 = self.daemon(data_dir=d.data_dir, args=["--retention", "2d", "--retention-interval",
                                                    "1s", "--retention-quiet", "0s"])
        cltest.wait_for(lambda: metric(d2, "cloudlog_retention_deleted_partitions_total") == 3,
                        60, "the retention pass", daemon=d2)
        self.assertEqual(metric(d2, "cloudlog_retention_deleted_objects_total"), 3)
        self.assertEqual(metric(d2, "cloudlog_retention_freed_bytes_total"), would_bytes)
        left = cltest.store_scan(d2.data_dir)[0]
        self.assertEqual(sorted(o["key"] for o in left),
                         sorted(o["key"] for o in objects if o["key"] not in old_keys))
        for k in old_keys:  # empty partition directories are gone too
            self.assertFalse(os.path.exists(os.path.join(cltest.store_dir(d2.data_dir),
                                                         k.rsplit("/", 2)[0])), k)
        self.assertEqual(len(self.rows_by_partition(d2.data_dir)), 2)
        # The store's size and horizon (the oldest record left: yesterday's).
        cltest.wait_for(lambda: metric(d2, "cloudlog_store_oldest_record_timestamp_seconds") ==
                        self.recent_ts / 1000, 60, "the horizon gauge", daemon=d2)
        self.assertEqual(metric(d2, "cloudlog_store_bytes"), sum(o["size"] for o in left))
        self.assertIn("retention: deleted 3 partition(s), 3 object(s), 12 record(s)",
                      d2.log_text())
        # A query finds only what is left.
        rc, out, err = cltest.run_cli(["query", "--data", d2.data_dir, "--since", "30d",
                                       "--format", "json"])
        self.assertEqual(rc, 0, err)
        self.assertEqual(len([line for line in out.split("\n") if line]), 2, out)

    def test_cli_deletes(self):
        d = self.fill()
        d.stop()
        rc, out, err = cltest.run_cli(["retention", "--data", d.data_dir, "--retention", "2d",
                                       "--retention-quiet", "0s"])
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"deleted 3 partition\(s\), 3 object\(s\), 12 record")
        self.assertEqual(len(cltest.store_scan(d.data_dir)[0]), 2)
        rc, out, _ = cltest.run_cli(["verify", "--data", d.data_dir])
        self.assertEqual(rc, 0, out)
        rc, _, err = cltest.run_cli(["retention", "--data", d.data_dir])
        self.assertEqual(rc, 2)
        self.assertIn("--retention DURATION is required", err)

    def test_refused_for_s3_and_queue_retention_renamed(self):
        data = cltest.mkdtemp("cl-ret-")
        rc, out = cltest.expect_refusal(["serve", "--listen", "127.0.0.1:0", "--data", data,
                                         "--retention", "30d", "--store", "s3://bucket/logs"])
        self.assertEqual(rc, 1)
        self.assertIn("an S3 store keeps its lifecycle rules", out)
        d = self.daemon(args=["--queue-retention", "2d"],
                        env=dict(os.environ, CLOUDLOG_RETENTION="0"))
        self.assertEqual(d.post_logs({"message": "x"})[0], 202)
        d.stop()
        rc, out, err = cltest.run_cli(["serve", "--help"])
        self.assertIn("--queue-retention", out)
        self.assertIn("CLOUDLOG_QUEUE_RETENTION", out)


if __name__ == "__main__":
    cltest.main()
