"""End-to-end test of the backup and restore procedure of docs/operations.md: stop the
daemon, archive the data directory with tar, unpack it elsewhere, start a daemon there:
every acknowledged record is found, the stored ones and the ones still queued at the stop
alike, and `cloudlog verify` finds the copy clean."""

import json
import os
import subprocess

import cltest

N_STORED = 300
N_QUEUED = 200


def run(args, timeout=120):
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("%s: %s" % (" ".join(args), p.stdout.decode(errors="replace")))


def records(tag, n, base):
    return [{"timestamp": cltest.ms_text(base + i), "service": "backup", "message": "%s %d" % (tag, i)}
            for i in range(n)]


def query_messages(data_dir):
    rc, out, err = cltest.run_cli(["query", "--data", data_dir, "--from",
                                   "2026-01-01T00:00:00Z", "--to", "2027-01-01T00:00:00Z",
                                   "--format", "json", "--limit", "100000"], timeout=120)
    assert rc == 0, err
    return sorted(json.loads(line)["message"] for line in out.splitlines() if line)


class BackupRestore(cltest.DaemonTestCase):
    def test_stop_copy_start_elsewhere(self):
        base = cltest.ts_ms("2026-06-01T10:00:00.000Z")
        src = cltest.mkdtemp("cl-backup-src-")
        # Stored records: a daemon with processors, until the queue is empty.
        d = self.daemon(data_dir=src, args=["--flush-age", "1s"])
        for i in range(0, N_STORED, 100):
            st, _, js = d.post_logs(records("stored", N_STORED, base)[i:i + 100])
            self.assertEqual((st, js["accepted"]), (202, 100), js)
        cltest.wait_for(lambda: cltest.count_rows(d.db_path, "messages") == 0, 60,
                        "every record stored", daemon=d)
        d.stop()
        # Queued records: acknowledged (202) by a daemon without processors, never stored.
        d = self.daemon(data_dir=src, env=dict(os.environ, CLOUDLOG_NO_PROCESSOR="1",
                                               **cltest.DEFAULT_ENV))
        st, _, js = d.post_logs(records("queued", N_QUEUED, base + 3600000))
        self.assertEqual((st, js["accepted"]), (202, N_QUEUED), js)
        d.stop()
        self.assertGreater(cltest.count_rows(os.path.join(src, "queue.db"), "messages"), 0)
        self.assertFalse(os.path.exists(os.path.join(src, "serve.pid")))

        # Backup: the stopped data directory, archived whole.
        archive = os.path.join(cltest.mkdtemp("cl-backup-"), "data.tar.gz")
        run(["tar", "-C", src, "-czf", archive, "."])
        # Restore elsewhere.
        dst = cltest.mkdtemp("cl-backup-dst-")
        run(["tar", "-C", dst, "-xzf", archive])
        rc, out, _ = cltest.run_cli(["verify", "--data", dst])
        self.assertEqual(rc, 0, out)
        d2 = self.daemon(data_dir=dst, args=["--flush-age", "1s"])
        self.assertEqual(d2.request("GET", "/readyz")[0], 200)
        cltest.wait_for(lambda: cltest.count_rows(d2.db_path, "messages") == 0, 60,
                        "the restored queue processed", daemon=d2)
        d2.stop()
        want = sorted(r["message"] for r in records("stored", N_STORED, base) +
                      records("queued", N_QUEUED, base + 3600000))
        self.assertEqual(query_messages(dst), want)
        rc, out, _ = cltest.run_cli(["verify", "--data", dst])
        self.assertEqual(rc, 0, out)
        # The original is untouched by the restore: its queued records still wait there.
        self.assertEqual(query_messages(src), sorted(r["message"]
                                                     for r in records("stored", N_STORED, base)))


if __name__ == "__main__":
    cltest.main()
