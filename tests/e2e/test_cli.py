"""CLI end to end: `cloudlog status` and `cloudlog dlq list|show|redrive` against a data
directory, with the daemon stopped and while it runs. Dead-letter messages are planted
by writing the `dlq` table of queue.db directly (the FILE FORMAT contract of
src/queue/queue_sqlite.c), then listed, shown and redriven through the CLI."""

import gzip
import json
import os
import sqlite3
import time

import cltest

SERVICE = "clitest"
HOUR_MS = 3600 * 1000


def line(ts_ms, message, level="error"):
    return cltest.norm_line(cltest.ms_text(ts_ms), level, SERVICE, message)


def plant_dlq(db_path, n, tag, error="consumer failed", sent_age_ms=3 * HOUR_MS):
    """Inserts n DLQ rows (gzip NDJSON bodies, 2-3 records each) in one transaction;
    ids come after every id the queue ever used, and the messages table's AUTOINCREMENT
    counter is moved past them (as a real move to the DLQ would leave it). Returns
    [(id, lines, body)]."""
    now = int(time.time() * 1000)
    db = sqlite3.connect(db_path, timeout=30)
    out = []
    try:
        db.execute("BEGIN IMMEDIATE")
        seq = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'messages'").fetchone()
        top = max(seq[0] if seq else 0,
                  db.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0],
                  db.execute("SELECT coalesce(max(id), 0) FROM dlq").fetchone()[0])
        for i in range(n):
            mid = top + 1 + i
            ts = now - 60000 + i
            lines = [line(ts + k, "%s-%d-%d" % (tag, mid, k)) for k in range(2 + i % 2)]
            raw = "".join(l + "\n" for l in lines).encode("utf-8")
            body = gzip.compress(raw)
            db.execute("INSERT INTO dlq (id, body, record_count, raw_bytes, min_ts, max_ts,"
                       " encoding, sent_at, receive_count, first_receive_at, last_error,"
                       " moved_at) VALUES (?, ?, ?, ?, ?, ?, 'gzip', ?, 5, ?, ?, ?)",
                       (mid, body, len(lines), len(raw), ts, ts + len(lines) - 1,
                        now - sent_age_ms, now - sent_age_ms + 1000, error, now))
            out.append((mid, lines, body))
        if seq:
            db.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'messages'", (top + n,))
        else:
            db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('messages', ?)",
                       (top + n,))
        db.commit()
    finally:
        db.close()
    return out


def fresh_data_dir(tc):
    """A data dir whose queue.db the daemon created (then stopped)."""
    d = tc.daemon()
    d.stop()
    return d.data_dir


def cli(tc, args, expect_rc=0, env=None):
    rc, out, err = cltest.run_cli(args, env=env, timeout=60)
    tc.assertEqual(rc, expect_rc, "cloudlog %s -> %d\nstdout: %s\nstderr: %s"
                   % (" ".join(args), rc, out[-2000:], err[-2000:]))
    return out, err


def dlq_json(tc, data_dir, *extra):
    out, _ = cli(tc, ["dlq", "list", "--json", "--data", data_dir] + list(extra))
    return [json.loads(l) for l in out.splitlines() if l.strip()]


class HelpAndUsage(cltest.DaemonTestCase):
    def test_help_lists_commands(self):
        out, _ = cli(self, ["--help"])
        self.assertRegex(out, r"(?m)^  status ")
        self.assertRegex(out, r"(?m)^  dlq ")

    def test_each_command_has_help(self):
        for words in (["status"], ["dlq"], ["dlq", "list"], ["dlq", "show"],
                      ["dlq", "redrive"]):
            out, _ = cli(self, words + ["--help"])
            self.assertIn("Usage: cloudlog " + " ".join(words), out)
            if len(words) > 1 or words == ["status"]:
                self.assertIn("--data DIR", out)
                self.assertIn("CLOUDLOG_DATA", out)
        out, _ = cli(self, ["dlq", "list", "--help"])
        self.assertIn("AGE is the time since the message was sent", out)

    def test_usage_errors(self):
        d = fresh_data_dir(self)
        for args in (["status", "--bogus"], ["dlq", "list", "--nope"], ["dlq", "frob"], ["dlq"],
                     ["dlq", "redrive", "--data", d], ["dlq", "redrive", "--all", "1", "--data", d],
                     ["dlq", "show", "--data", d], ["dlq", "list", "--limit", "0"],
                     ["status", "extra"]):
            _, err = cli(self, args, expect_rc=2)
            self.assertTrue(err.strip(), args)

    def test_every_option_reads_an_environment_variable(self):
        """Every option of every command names its CLOUDLOG_* variable (the man page lists
        each option's), and the one-off flags of alarms, retention and dlq redrive read
        theirs."""
        out, _ = cli(self, ["help", "--man"])
        self.assertEqual(out.count("Environment: none"), 0)
        d = fresh_data_dir(self)  # the daemon wrote DATA/alarms.json at start
        out, _ = cli(self, ["alarms", "--data", d], env={"CLOUDLOG_ALARMS_HISTORY": "1"})
        # the history, not the table of states ("NAME  STATE ..."): empty, or with the
        # transitions of an evaluation the daemon made if its short life spanned one
        # (seen under ASan, CI at 02:40 UTC)
        self.assertTrue(out == "no transitions yet\n" or out.startswith("TIME "), out)
        out, _ = cli(self, ["retention", "--data", d, "--retention", "1d"],
                     env={"CLOUDLOG_RETENTION_DRY_RUN": "yes"})
        self.assertTrue(out.startswith("would delete "), out)
        plant_dlq(os.path.join(d, "queue.db"), 2, "env")
        out, _ = cli(self, ["dlq", "redrive", "--data", d], env={"CLOUDLOG_REDRIVE_ALL": "1"})
        self.assertEqual(out, "redrove 2 message(s)\n")

    def test_missing_data_dir(self):
        parent = cltest.mkdtemp("cl-cli-")
        missing = os.path.join(parent, "no-such-dir")
        empty = os.path.join(parent, "empty")
        os.mkdir(empty)
        for d in (missing, empty):
            for args in (["status"], ["dlq", "list"], ["dlq", "show", "1"],
                         ["dlq", "redrive", "--all"], ["dlq", "redrive", "3"]):
                _, err = cli(self, args + ["--data", d], expect_rc=1)
                self.assertIn(d, err)
                self.assertRegex(err, "does not exist|no queue at")
        self.assertFalse(os.path.exists(missing))
        self.assertEqual(os.listdir(empty), [])
        # CLOUDLOG_DATA is read like --data.
        _, err = cli(self, ["status"], expect_rc=1, env={"CLOUDLOG_DATA": missing})
        self.assertIn(missing, err)


class Status(cltest.DaemonTestCase):
    def post_batches(self, d):
        """Posts 5 batches of one service and one hour; returns (records, min ts, max ts)."""
        now = int(time.time() * 1000)
        base = now - now % HOUR_MS + 1000
        total, last = 0, base
        for batch in range(5):
            recs = [{"timestamp": cltest.ms_text(base + batch * 100 + i), "level": "info",
                     "service": SERVICE, "message": "status %d %d" % (batch, i)}
                    for i in range(20 + batch)]
            self.assertAccepted(d.post_logs(recs), len(recs))
            total += len(recs)
            last = base + batch * 100 + len(recs) - 1
        return total, base, last

    def status(self, d):
        return json.loads(cli(self, ["status", "--data", d.data_dir, "--json"])[0])

    def check_queue(self, d, js):
        msgs = cltest.read_messages(d.db_path)
        q = js["queue"]
        self.assertEqual(q["visible"] + q["inflight"], len(msgs))
        self.assertEqual(q["records"], sum(m["record_count"] for m in msgs))
        self.assertEqual(q["bytes"], sum(len(m["body"]) for m in msgs))
        self.assertEqual((js["dlq"]["depth"], js["dlq"]["bytes"]), (0, 0))
        return msgs

    def test_counts_queued(self):
        d = self.daemon(args=["--no-processor"])
        total, _, _ = self.post_batches(d)
        for running in (True, False):
            if not running:
                d.stop()
            js = self.status(d)
            msgs = self.check_queue(d, js)
            self.assertEqual(js["queue"]["records"], total)
            self.assertEqual(js["queue"]["visible"], len(msgs))
            self.assertGreaterEqual(js["queue"]["oldest_age_ms"], 0)
            self.assertLess(js["queue"]["oldest_age_ms"], 600 * 1000)
            self.assertEqual(js["store"]["objects"], 0)
            self.assertIsNone(js["store"]["compression_ratio"])
        text = cli(self, ["status", "--data", d.data_dir])[0]
        self.assertRegex(text, r"(?m)^  records +%d$" % total)
        self.assertRegex(text, r"(?m)^  visible +%d$" % len(msgs))
        self.assertIn("dead-letter queue", text)

    def test_counts_stored(self):
        d = self.daemon(args=["--flush-age", "1s"])
        total, first, last = self.post_batches(d)
        cltest.wait_drained(d.data_dir, daemon=d)
        js = self.status(d)  # daemon running
        self.check_queue(d, js)
        st = js["store"]
        objs = cltest.catalog_rows(d.db_path)
        self.assertEqual(st["records"], total)
        self.assertEqual(st["objects"], len(objs))
        self.assertEqual(st["bytes"], sum(o["bytes"] for o in objs))
        self.assertEqual(st["bytes"], sum(o["size"] for o in cltest.store_scan(d.data_dir)[0]))
        self.assertEqual((st["min_ts"], st["max_ts"]), (cltest.ms_text(first),
                                                        cltest.ms_text(last)))
        self.assertGreater(st["compression_ratio"], 1.0)
        d.stop()
        text = cli(self, ["status", "--data", d.data_dir])[0]
        self.assertRegex(text, r"(?m)^  objects +%d$" % len(objs))
        self.assertRegex(text, r"(?m)^  time span +%s \.\. %s$"
                         % (cltest.ms_text(first), cltest.ms_text(last)))
        self.assertRegex(text, r"x compression\)")


class Dlq(cltest.DaemonTestCase):
    def check_list(self, data_dir, planted, error):
        rows = dlq_json(self, data_dir)
        self.assertEqual([r["id"] for r in rows], [str(p[0]) for p in planted])
        for r, (mid, lines, body) in zip(rows, planted):
            self.assertEqual(r["receive_count"], 5)
            self.assertEqual(r["record_count"], len(lines))
            self.assertEqual(r["raw_bytes"], sum(len(l) + 1 for l in lines))
            self.assertEqual(r["bytes"], len(body))
            self.assertEqual(r["error"], error)
            self.assertEqual(r["min_ts"], json.loads(lines[0])["timestamp"])
            self.assertEqual(r["max_ts"], json.loads(lines[-1])["timestamp"])
            self.assertIsInstance(r["first_receive_ms"], int)
        self.assertEqual(len(dlq_json(self, data_dir, "--limit", "1")), 1)
        out, _ = cli(self, ["dlq", "list", "--data", data_dir], env={"COLUMNS": "80"})
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^ID +RECEIVES +AGE +RECORDS ERROR$")
        self.assertEqual(len(lines), 1 + len(planted))
        for l, (mid, recs, _) in zip(lines[1:], planted):
            self.assertRegex(l, r"^%d +5 +3h +%d " % (mid, len(recs)))
            self.assertLessEqual(len(l), 80)
        return rows

    def check_show(self, data_dir, mid, lines, body):
        out, _ = cli(self, ["dlq", "show", str(mid), "--data", data_dir])
        head, _, recs = out.partition("\n\n")
        self.assertIn("id:             %d" % mid, head)
        self.assertIn("receives:       5", head)
        self.assertIn("records:        %d" % len(lines), head)
        self.assertEqual(recs.splitlines(), lines)
        p = cltest.spawn(["dlq", "show", "--raw", str(mid), "--data", data_dir],
                         stdout=cltest.subprocess.PIPE, stderr=cltest.subprocess.PIPE)
        raw, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(raw, body)

    def check_back(self, db_path, planted):
        """Planted messages are back in `messages` with receive_count 0, bodies intact."""
        by_id = {m["id"]: m for m in cltest.read_messages(db_path)}
        for mid, lines, body in planted:
            self.assertIn(mid, by_id)
            m = by_id[mid]
            self.assertEqual((m["receive_count"], bytes(m["body"]), m["lines"]),
                             (0, body, lines))
            self.assertIsNone(m["last_error"])

    def test_daemon_stopped(self):
        data = fresh_data_dir(self)
        db = os.path.join(data, "queue.db")
        self.assertEqual(cli(self, ["dlq", "list", "--data", data])[0],
                         "dead-letter queue is empty\n")
        self.assertEqual(dlq_json(self, data), [])
        err_text = "flush failed:\nstore said no " + "x" * 300
        planted = plant_dlq(db, 4, "stopped", error=err_text)
        self.check_list(data, planted, err_text)
        for mid, lines, body in planted[:2]:
            self.check_show(data, mid, lines, body)
        _, err = cli(self, ["dlq", "show", "999999", "--data", data], expect_rc=1)
        self.assertIn("999999", err)
        cli(self, ["dlq", "show", "abc", "--data", data], expect_rc=1)
        st = json.loads(cli(self, ["status", "--json", "--data", data])[0])
        self.assertEqual(st["dlq"]["depth"], 4)
        self.assertEqual(st["dlq"]["bytes"], sum(len(p[2]) for p in planted))

        first = planted[0][0]
        out, err = cli(self, ["dlq", "redrive", "--data", data, str(first), "424242",
                              str(first)], expect_rc=1)
        self.assertEqual(out, "redrove 1 message(s)\n")
        self.assertIn("424242", err)
        self.check_back(db, planted[:1])
        self.assertEqual([r["id"] for r in dlq_json(self, data)],
                         [str(p[0]) for p in planted[1:]])
        out, _ = cli(self, ["dlq", "redrive", "--data", data, str(planted[1][0])])
        self.assertEqual(out, "redrove 1 message(s)\n")
        out, _ = cli(self, ["dlq", "redrive", "--all", "--data", data])
        self.assertEqual(out, "redrove 2 message(s)\n")
        self.check_back(db, planted)
        self.assertEqual(cltest.count_rows(db, "dlq"), 0)
        self.assertEqual(cli(self, ["dlq", "redrive", "--all", "--data", data])[0],
                         "redrove 0 message(s)\n")
        self.assertEqual(cltest.integrity_check(db), ["ok"])

    def test_daemon_running(self):
        d = self.daemon(args=["--no-processor"])
        self.assertAccepted(d.post_logs([{"service": SERVICE, "message": "before"}]), 1)
        planted = plant_dlq(d.db_path, 3, "running", error="boom")
        self.check_list(d.data_dir, planted, "boom")
        self.check_show(d.data_dir, planted[2][0], planted[2][1], planted[2][2])
        out, err = cli(self, ["dlq", "redrive", "--data", d.data_dir, str(planted[0][0]), "77"],
                       expect_rc=1)
        self.assertEqual(out, "redrove 1 message(s)\n")
        self.assertIn("77", err)
        out, _ = cli(self, ["dlq", "redrive", "--all", "--data", d.data_dir])
        self.assertEqual(out, "redrove 2 message(s)\n")
        self.assertEqual(cltest.count_rows(d.db_path, "dlq"), 0)
        self.check_back(d.db_path, planted)
        # The daemon's own totals notice the other process's commits.
        self.assertAccepted(d.post_logs([{"service": SERVICE, "message": "after"}]), 1)
        js = json.loads(cli(self, ["status", "--json", "--data", d.data_dir])[0])
        self.assertEqual(js["dlq"]["depth"], 0)
        self.assertEqual(js["queue"]["records"], 2 + sum(len(p[1]) for p in planted))
        st, _, body = d.request("GET", "/healthz")
        self.assertEqual(st, 200, body)
        d.stop()
        self.check_back(d.db_path, planted)
        self.assertEqual(cltest.integrity_check(d.db_path), ["ok"])

    def test_redriven_messages_are_stored(self):
        d = self.daemon(args=["--flush-age", "1s"])
        planted = plant_dlq(d.db_path, 3, "stored", error="store was down")
        self.assertEqual(len(dlq_json(self, d.data_dir)), 3)
        out, _ = cli(self, ["dlq", "redrive", "--all", "--data", d.data_dir])
        self.assertEqual(out, "redrove 3 message(s)\n")
        cltest.wait_drained(d.data_dir, dlq=0, daemon=d)
        stored = [l for _, lines in cltest.stored_lines(d.data_dir) for l in lines]
        self.assertEqual(sorted(stored), sorted(l for p in planted for l in p[1]))
        self.assertEqual(cli(self, ["dlq", "list", "--data", d.data_dir])[0],
                         "dead-letter queue is empty\n")
        d.stop()
        self.assertEqual(cltest.integrity_check(d.db_path), ["ok"])


if __name__ == "__main__":
    cltest.main()
