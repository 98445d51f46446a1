"""`cloudlog verify [--repair]` and the damaged-queue quarantine, end to end.

1. A local data directory with injected problems (an object deleted, one truncated, a
   valid orphan, a garbage orphan, a staging leftover): verify reports each and exits 1;
   --repair fixes what it can without deleting anything; a second verify is clean (0).
2. The queue file's pages are overwritten with garbage while the daemon is stopped: the
   daemon starts anyway on a fresh queue (file moved to DATA/quarantine), ingest works,
   the metrics and the QueueQuarantined alarm say so, and `verify --repair` salvages the
   readable messages, which the processor then stores exactly once.
3. An S3 store (moto): verify finds a damaged object and a staging leftover, --repair
   moves the damaged object under _quarantine/."""

import gzip
import json
import os
import random
import shutil
import sqlite3
import time

import cltest
import s3_moto

NOW_MS = int(time.time() * 1000) - 3600 * 1000  # inside any accepted time window
ALARMS = {"Alarms": [{"AlarmName": "QueueQuarantined", "Period": 1}]}


def records(prefix, n, service="verify"):
    return "".join(json.dumps({"ts": NOW_MS + i, "service": service, "level": "info",
                               "message": "%s %d" % (prefix, i)}) + "\n" for i in range(n))


def verify(data=None, store=None, repair=False, env=None):
    args = ["verify", "--format", "json"]
    args += ["--data", data] if data else ["--store", store]
    if repair:
        args.append("--repair")
    rc, out, err = cltest.run_cli(args, env=env, timeout=120)
    if rc not in (0, 1) or err.strip():
        raise AssertionError("verify exited %d: %s %s" % (rc, out, err))
    return rc, json.loads(out)


def kinds(doc, severity="problem"):
    return sorted((f["kind"], f["key"]) for f in doc["findings"] if f["severity"] == severity)


def wait_for(pred, timeout, what, daemon=None):
    deadline = time.monotonic() + timeout
    last = None
    for _ in range(int(timeout / 0.2) + 10):
        last = pred()
        if last:
            return last
        if time.monotonic() > deadline:
            break
        time.sleep(0.2)
    raise AssertionError("timed out waiting for %s (last %r)%s"
                         % (what, last, "; log:\n" + daemon.log_tail() if daemon else ""))


def metric(d, name):
    _, _, body = d.request("GET", "/metrics")
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def corrupt_queue(db_path, rng):
    """Overwrites b-tree pages in the second half of the file with garbage until SQLite
    reports the file damaged when the queue totals are read (as the daemon does)."""
    with open(db_path, "rb") as f:
        header = f.read(100)
    page = int.from_bytes(header[16:18], "big")  # the file's page size (1 means 65536)
    page = 65536 if page == 1 else page
    pages = os.path.getsize(db_path) // page
    for _ in range(20):
        with open(db_path, "r+b") as f:
            p = rng.randrange(pages // 2, pages)
            f.seek(p * page)
            f.write(bytes(rng.randrange(256) for _ in range(page)))
        try:
            db = sqlite3.connect(db_path)
            db.execute("SELECT count(*), total(length(body)) FROM messages").fetchall()
            db.execute("SELECT count(*) FROM messages INDEXED BY messages_sent").fetchall()
            db.close()
        except sqlite3.DatabaseError:
            return
    raise AssertionError("could not damage %s" % db_path)


class Verify(cltest.DaemonTestCase):
    def fill_store(self, data):
        d = self.daemon(data_dir=data, args=["--flush-age", "200ms"])
        for svc in ("a", "b", "c"):
            for batch in range(2):
                st, _, body = d.post_logs(records("%s-%d" % (svc, batch), 50, svc),
                                          content_type="application/x-ndjson")
                self.assertEqual(st, 202, body)
                time.sleep(0.3)  # separate objects per batch
        cltest.wait_drained(data, daemon=d)
        d.stop()
        objs, _, _ = cltest.store_scan(data)
        self.assertGreaterEqual(len(objs), 3)
        return objs

    def stage_objects(self, data, db):
        """What a crash can leave beside a queue file: an object committed to the catalog
        but still under _staging/ (its messages deleted by that commit), and an
        uncommitted one. Returns the committed object's final key."""
        ts = time.strftime("%Y-%m-%d/hour=%H", time.gmtime(NOW_MS / 1000))
        key = "service=committed/dt=%s/20260101T000000Z-00000000000000cc.ndjson.gz" % ts
        lines = [json.loads(l) for l in records("committed", 5, "committed").splitlines()]
        body = "".join(cltest.norm_line(cltest.ms_text(r["ts"]), "info", "committed",
                                        r["message"]) + "\n" for r in lines)
        staging = os.path.join(cltest.store_dir(data), "_staging")
        os.makedirs(staging, exist_ok=True)
        for name in ("committed", "uncommitted"):
            with open(os.path.join(staging, name + ".ndjson.gz"), "wb") as f:
                f.write(gzip.compress(body.encode()))
        conn = sqlite3.connect(db)
        conn.execute("INSERT INTO objects (key, staging_key, service, dt, hour, records, bytes,"
                     " raw_bytes, min_ts, max_ts, created_at, published) VALUES (?,"
                     " '_staging/committed.ndjson.gz', 'committed', ?, ?, 5, 1, 1, 0, 0, 0, 0)",
                     (key, ts[:10], int(ts[-2:])))
        conn.commit()
        conn.close()
        return key

    def test_local_problems_reported_repaired_then_clean(self):
        data = cltest.mkdtemp("cl-verify-")
        objs = self.fill_store(data)
        rc, doc = verify(data)
        self.assertEqual((rc, doc["clean"], doc["problems"]), (0, True, 0), doc)
        self.assertEqual(doc["objects_checked"], len(objs))
        root = cltest.store_dir(data)
        missing, truncated, template = objs[0], objs[1], objs[-1]
        os.remove(missing["path"])
        with open(truncated["path"], "r+b") as f:
            f.truncate(truncated["size"] // 2)
        orphan_key = "service=orphan/dt=%s/hour=%s/20260101T000000Z-00000000000000aa.ndjson.gz" \
            % (template["dt"], template["hour"])
        lines = [l.replace('"service":"%s"' % template["service"], '"service":"orphan"')
                 for l in cltest.object_lines(template["path"])]
        os.makedirs(os.path.dirname(os.path.join(root, orphan_key)))
        with open(os.path.join(root, orphan_key), "wb") as f:
            f.write(gzip.compress(("\n".join(lines) + "\n").encode()))
        garbage_key = template["key"].rsplit("/", 1)[0] + "/20260101T000000Z-00000000000000bb.ndjson.gz"
        with open(os.path.join(root, garbage_key), "wb") as f:
            f.write(b"not gzip at all")
        os.makedirs(os.path.join(root, "_staging"), exist_ok=True)
        with open(os.path.join(root, "_staging", "leftover.ndjson.gz"), "wb") as f:
            f.write(gzip.compress(b"{}\n"))

        rc, doc = verify(data)
        self.assertEqual(rc, 1, doc)
        self.assertEqual(kinds(doc), sorted([
            ("object_missing", missing["key"]), ("object_corrupt", truncated["key"]),
            ("object_orphan", orphan_key), ("object_corrupt", garbage_key)]), doc)
        self.assertIn(("staging_leftover", "_staging/leftover.ndjson.gz"),
                      kinds(doc, "warning"))

        rc, doc = verify(data, repair=True)
        self.assertEqual(rc, 0, doc)
        self.assertTrue(all(f["repaired"] for f in doc["findings"]
                            if f["severity"] == "problem"), doc)
        # Nothing deleted: damaged objects moved aside, the missing one recorded as lost.
        for key in (truncated["key"], garbage_key):
            self.assertTrue(os.path.exists(os.path.join(root, "_quarantine", key)), key)
        self.assertTrue(os.path.exists(os.path.join(root, "_staging", "leftover.ndjson.gz")))
        db = os.path.join(data, "queue.db")
        self.assertIn(orphan_key, [r["key"] for r in cltest.catalog_rows(db)])
        lost = {r["key"]: r["reason"] for r in cltest.table_rows(db, "objects_lost")}
        self.assertEqual(sorted(lost), sorted([missing["key"], truncated["key"]]))

        rc, doc = verify(data)
        self.assertEqual((rc, doc["clean"], doc["problems"]), (0, True, 0), doc)
        self.assertIn(("quarantined_objects", "_quarantine/"), kinds(doc, "warning"))
        rc, out, _ = cltest.run_cli(["query", "--data", data, "--service", "orphan",
                                     "--since", "30d", "--count"])
        self.assertEqual((rc, out.strip()), (0, str(len(lines))), out)

    def test_damaged_queue_is_quarantined_and_salvaged(self):
        data = cltest.mkdtemp("cl-quarantine-")
        d = self.daemon(data_dir=data, args=["--no-processor"])
        sent = set()
        for batch in range(200):
            body = records("old-%d" % batch, 20)
            st, _, resp = d.post_logs(body, content_type="application/x-ndjson")
            self.assertEqual(st, 202, resp)
            sent.update("old-%d %d" % (batch, i) for i in range(20))
        d.stop()
        db = os.path.join(data, "queue.db")
        committed_key = self.stage_objects(data, db)
        corrupt_queue(db, random.Random(13))

        cfg = os.path.join(cltest.mkdtemp("cl-qcfg-"), "alarms.json")
        with open(cfg, "w") as f:
            json.dump(ALARMS, f)
        d = self.daemon(data_dir=data, args=["--flush-age", "200ms", "--alarms-config", cfg])
        self.assertIn("QUEUE QUARANTINED", d.log_text())
        qdir = os.path.join(data, "quarantine")
        files = [n for n in os.listdir(qdir) if n.endswith(".db")]
        self.assertEqual(len(files), 1, os.listdir(qdir))
        self.assertEqual(metric(d, "cloudlog_queue_quarantined_total"), 1)
        self.assertEqual(metric(d, "cloudlog_queue_quarantine_pending"), 1)
        st, _, body = d.request("GET", "/readyz")
        self.assertEqual(st, 200)  # ready: ingest works on the fresh queue
        self.assertIn("verify --repair", json.loads(body)["queue_quarantined"])

        def alarm_state():
            _, _, body = d.request("GET", "/v1/alarms")
            return {a["name"]: a["state"] for a in json.loads(body)["alarms"]}
        wait_for(lambda: alarm_state().get("QueueQuarantined") == "ALARM", 30,
                 "QueueQuarantined in ALARM", d)
        st, _, resp = d.post_logs(records("new", 30), content_type="application/x-ndjson")
        self.assertEqual(st, 202, resp)  # ingest goes on
        # The running processor stores them; verify must not catch its object between the
        # catalog commit and the publish (a rename and an fsync: long on a loaded machine).
        wait_for(lambda: cltest.queue_counts(db)[::2] == (0, 0), 60,
                 "the new records stored and published", d)

        # Staging objects were kept, not discarded by start-up recovery.
        kept = os.path.join(cltest.store_dir(data), "_quarantine", "staging")
        self.assertEqual(sorted(os.listdir(kept)), ["committed.ndjson.gz", "uncommitted.ndjson.gz"])
        rc, doc = verify(data)
        self.assertEqual(rc, 1, doc)
        self.assertEqual(kinds(doc), sorted([("queue_quarantined", os.path.join(qdir, files[0])),
                                             ("object_unpublished", committed_key)]), doc)
        rc, doc = verify(data, repair=True)  # beside the running daemon
        self.assertEqual(rc, 0, doc)
        self.assertEqual(os.listdir(kept), ["uncommitted.ndjson.gz"])  # ambiguous: kept
        with open(os.path.join(qdir, files[0] + ".salvaged")) as f:
            summary = json.load(f)
        self.assertGreater(summary["messages"], 0, summary)
        self.assertEqual(summary["invalid"], 0, summary)
        self.assertTrue(os.path.exists(os.path.join(qdir, files[0])), "kept, never deleted")
        wait_for(lambda: metric(d, "cloudlog_queue_quarantine_pending") == 0, 30,
                 "pending quarantine 0", d)
        self.assertEqual(json.loads(d.request("GET", "/readyz")[2]), {"status": "ready"})
        cltest.wait_drained(data, daemon=d)
        stored = [json.loads(l)["message"] for _, ls in cltest.stored_lines(data) for l in ls]
        self.assertEqual(len(stored), len(set(stored)), "no record stored twice")
        old = [m for m in stored if m.startswith("old-")]
        self.assertEqual(len(old), summary["records"])
        self.assertTrue(set(old) <= sent)
        self.assertEqual(len([m for m in stored if m.startswith("new ")]), 30)
        self.assertEqual(len([m for m in stored if m.startswith("committed ")]), 5)
        # A second repair finds nothing left to salvage.
        rc, doc = verify(data, repair=True)
        self.assertEqual((rc, doc["problems"]), (0, 0), doc)
        d.stop()

    def test_s3_store(self):
        why = s3_moto.missing()
        if why:
            s3_moto.skip_or_fail(self, why)
        data = cltest.mkdtemp("cl-verify-s3-")
        objs = self.fill_store(data)
        s3 = s3_moto.S3Moto("cl-verify")
        self.addCleanup(s3.stop)
        for o in objs:
            s3.s3.upload_file(o["path"], s3.bucket, "logs/" + o["key"])
        bad = objs[0]["key"]
        s3.s3.put_object(Bucket=s3.bucket, Key="logs/" + bad, Body=b"\x1f\x8b garbage")
        s3.s3.put_object(Bucket=s3.bucket, Key="logs/_staging/x.ndjson.gz", Body=b"x")
        url = s3.store_url("logs")
        rc, doc = verify(store=url, env=s3.env)
        self.assertEqual(rc, 1, doc)
        self.assertEqual(kinds(doc), [("object_corrupt", bad)], doc)
        self.assertIn(("staging_leftover", "_staging/x.ndjson.gz"), kinds(doc, "warning"))
        self.assertEqual(doc["objects_checked"], len(objs))
        rc, doc = verify(store=url, repair=True, env=s3.env)
        self.assertEqual(rc, 0, doc)
        self.assertIn("logs/_quarantine/" + bad, s3.keys("logs/"))
        rc, doc = verify(store=url, env=s3.env)
        self.assertEqual((rc, doc["problems"]), (0, 0), doc)


if __name__ == "__main__":
    cltest.main()
