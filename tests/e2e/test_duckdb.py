"""The store opens in DuckDB unchanged: a known data set (3 services, hours on both sides
of a UTC midnight, every level, extra fields with nested objects and arrays, a field
whose type varies, unicode) is POSTed to `cloudlog serve`, drained into the store, and
read back with DuckDB's Node API through tools/duckdb/query.mjs, whose view `logs` is
read_json(STORE/*/*/*/*.ndjson.gz, format='newline_delimited', hive_partitioning=true):
what a user gets by pointing DuckDB at the store. Checks: total and error counts, counts
per Hive partition (service, dt, hour from the paths) against the records' service and
UTC timestamp, and every record's fields as DuckDB types them (timestamp as a
TIMESTAMP, nested objects as STRUCTs).

Needs tools/duckdb/node_modules (scripts/setup.sh runs `npm ci` there): skipped without
it, failed without it when CI=true."""

import collections
import datetime
import json
import os
import shutil
import subprocess
import unittest
import zlib

import cltest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL_DIR = os.path.normpath(os.path.join(HERE, "..", "..", "tools", "duckdb"))
QUERY = os.path.join(TOOL_DIR, "query.mjs")
NODE = shutil.which("node")
QUERY_TIMEOUT = 120
CI = os.environ.get("CI") == "true"

UTC = datetime.timezone.utc
SERVICES = ["api", "web.frontend", "billing-worker_2"]
LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"]
# 2026-03-14 21:00Z .. 2026-03-15 03:00Z: six hours over one UTC midnight.
START_MS = int(datetime.datetime(2026, 3, 14, 21, 0, tzinfo=UTC).timestamp() * 1000)
SPAN_MS = 6 * 3600 * 1000
MIDNIGHT_MS = int(datetime.datetime(2026, 3, 15, 0, 0, tzinfo=UTC).timestamp() * 1000)
N_RECORDS = 360
MESSAGES = ["plain %d", "h\u00e9llo \u2713 \u65e5\u672c\u8a9e \U0001F680 %d",
            'quote " backslash \\ and\nnewline %d', "tab\tand \u00fcml\u00e4ut %d"]


def duckdb_missing():
    """None when query.mjs can run, else why not."""
    if NODE is None:
        return "no node command on PATH"
    if not os.path.isdir(os.path.join(TOOL_DIR, "node_modules", "@duckdb", "node-api")):
        return "%s/node_modules/@duckdb/node-api is missing (run scripts/setup.sh)" % TOOL_DIR
    return None


def ts_text(ms, form):
    """The timestamp of ms as sent: ISO with Z, ISO at an offset, or epoch milliseconds."""
    if form == 2:
        return ms
    off = 0 if form == 0 else 330  # +05:30
    dt = datetime.datetime.fromtimestamp(ms // 1000 + off * 60, tz=UTC)
    s = dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03d" % (ms % 1000)
    return s + ("Z" if off == 0 else "+05:30")


def make_records():
    """[(record as sent, expected dict)]; deterministic."""
    out = []
    for i in range(N_RECORDS):
        if i % 9 == 0:  # around the midnight: a few ms either side
            ms = MIDNIGHT_MS + (i // 9 % 7 - 3)
        else:
            ms = START_MS + (i * 7919 * 1009 + i * 37) % SPAN_MS
        svc = SERVICES[i % len(SERVICES)]
        level = LEVELS[(i // 2) % len(LEVELS)]
        msg = MESSAGES[i % len(MESSAGES)] % i
        seq = "r-%04d" % i
        rec = {"timestamp": ts_text(ms, i % 3), "level": level.upper() if i % 4 == 0 else level,
               "service": svc, "message": msg, "seq": seq, "n": i, "ratio": i / 8.0,
               "ok": i % 2 == 0,
               "ctx": {"user": {"id": i * 10, "name": "\u540d\u524d-%d" % i},
                       "tags": ["t%d" % (i % 5), "\u00e9t\u00e9"], "depth": {"a": {"b": i % 3}}},
               "code": 404 if i % 2 else "E%d" % i}
        want = {"seq": seq, "ms": ms, "level": level, "service": svc, "message": msg, "n": i,
                "uid": i * 10, "uname": "\u540d\u524d-%d" % i, "tag1": "t%d" % (i % 5),
                "b": i % 3, "ok": i % 2 == 0, "ratio": i / 8.0,
                "code": "404" if i % 2 else "E%d" % i}
        dt = datetime.datetime.fromtimestamp(ms / 1000.0, tz=UTC)
        want["part"] = (svc, dt.strftime("%Y-%m-%d"), dt.hour)
        out.append((rec, want))
    return out


def query(store, sql):
    """Runs query.mjs; returns the rows (dicts)."""
    p = subprocess.run([NODE, QUERY, store, sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=QUERY_TIMEOUT, cwd=TOOL_DIR)
    if p.returncode != 0:
        raise AssertionError("query.mjs failed (%d) on %s:\n%s"
                             % (p.returncode, sql, p.stderr.decode("utf-8", "replace")[-3000:]))
    text = p.stdout.decode("utf-8")
    return [json.loads(l) for l in text.split("\n") if l]


class DuckDB(unittest.TestCase):
    daemon = None
    skip_reason = None

    @classmethod
    def setUpClass(cls):
        why = duckdb_missing()
        if why:
            # Skipped (or failed under CI) per test in setUp, so the closing line counts
            # each test.
            cls.skip_reason = "DuckDB not installed: " + why
            print(("FAIL (CI=true): " if CI else "SKIP: ") + cls.skip_reason, flush=True)
            return
        cls.records = make_records()
        d = cltest.Daemon(args=["--flush-age", "1s"])
        cls.daemon = d
        try:
            cls._fill(d)
        except BaseException:
            d.kill()
            raise

    @classmethod
    def _fill(cls, d):
        d.start()
        accepted = 0
        for k in range(0, len(cls.records), 50):
            chunk = cls.records[k:k + 50]
            body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r, _ in chunk)
            st, _, js = d.post_logs(body, content_type="application/x-ndjson",
                                    encoding="gzip" if k % 100 else None)
            if st != 202 or not isinstance(js, dict) or js.get("rejected") != 0:
                raise AssertionError("POST answered %s %r" % (st, js))
            accepted += js["accepted"]
        cls.accepted = accepted
        cltest.wait_drained(d.data_dir, timeout=90, dlq=0, daemon=d)
        cls.store = cltest.store_dir(d.data_dir)
        objs, _, strays = cltest.store_scan(d.data_dir)
        if strays or not objs:
            raise AssertionError("store: %d objects, strays %r" % (len(objs), strays[:5]))
        print("%d records accepted, %d objects" % (accepted, len(objs)), flush=True)

    def setUp(self):
        if self.skip_reason:
            if CI:
                self.fail("CI=true and " + self.skip_reason)
            self.skipTest(self.skip_reason)

    @classmethod
    def tearDownClass(cls):
        if cls.daemon is not None:
            cls.daemon.stop()

    def test_a_total_count(self):
        self.assertEqual(self.accepted, N_RECORDS)
        rows = query(self.store, "SELECT count(*) AS n FROM logs")
        self.assertEqual(rows, [{"n": self.accepted}])

    def test_a_multi_member_objects(self):
        """Objects are concatenated gzip members (ingest packs one per partition, the
        processor appends them as they are): DuckDB's counts in these tests cover every
        member, and so does zcat's."""
        paths = [os.path.join(root, n) for root, _, names in os.walk(self.store)
                 if "_staging" not in root for n in names if n.endswith(".ndjson.gz")]
        multi, lines = 0, 0
        for path in paths:
            with open(path, "rb") as f:
                data = f.read()
            members = 0
            while data:  # one decompressobj per member: unused_data is the next one
                z = zlib.decompressobj(16 + zlib.MAX_WBITS)
                z.decompress(data)
                members += 1
                data = z.unused_data
            multi += members > 1
            out = subprocess.run(["zcat", path], check=True, capture_output=True).stdout
            lines += out.count(b"\n")
        self.assertGreater(multi, 0, "no object of several members")
        self.assertEqual(lines, self.accepted)

    def test_b_counts_per_hive_partition(self):
        want = collections.Counter(w["part"] for _, w in self.records)
        self.assertEqual(len({p[1] for p in want}), 2, "the data set spans a UTC midnight")
        types = query(self.store, "SELECT DISTINCT typeof(service) AS s, typeof(dt) AS d,"
                                  " typeof(hour) AS h FROM logs")
        print("DuckDB infers service, dt, hour as %r" % types, flush=True)
        self.assertEqual(len(types), 1, types)
        self.assertEqual(types[0]["s"], "VARCHAR")
        self.assertEqual(types[0]["d"], "DATE")
        # hour=00..23 is VARCHAR when any value has a leading zero, else BIGINT (DuckDB's
        # hive_types_autocast); either way the path's text is the two-digit hour.
        self.assertIn(types[0]["h"], ("VARCHAR", "BIGINT"))
        rows = query(self.store, "SELECT service, dt, hour, count(*) AS n FROM logs"
                                 " GROUP BY ALL ORDER BY ALL")
        got = collections.Counter()
        for r in rows:
            hour = r["hour"]
            if isinstance(hour, str):
                self.assertRegex(hour, r"^\d\d$")
            got[(r["service"], r["dt"], int(hour))] += r["n"]
        self.assertEqual(len(rows), len(want))
        self.assertEqual(got, want)
        # The same with the partition types pinned, as a user would for stable types.
        rows = query(self.store, "SELECT service, dt::VARCHAR AS dt, hour, typeof(hour) AS th,"
                                 " count(*) AS n FROM read_json({{store}},"
                                 " format = 'newline_delimited', hive_partitioning = true,"
                                 " hive_types = {'dt': DATE, 'hour': INTEGER}) GROUP BY ALL")
        self.assertEqual({r["th"] for r in rows}, {"INTEGER"})
        self.assertEqual(collections.Counter({(r["service"], r["dt"], r["hour"]): r["n"]
                                              for r in rows}), want)

    def test_c_fields_round_trip(self):
        types = query(self.store, "SELECT DISTINCT typeof(timestamp) AS t, typeof(level) AS l,"
                                  " typeof(message) AS m, typeof(ctx) AS c FROM logs")
        print("DuckDB infers timestamp, level, message, ctx as %r" % types, flush=True)
        self.assertEqual(len(types), 1, types)
        self.assertEqual(types[0]["t"], "TIMESTAMP")
        self.assertTrue(types[0]["c"].startswith("STRUCT("), types)
        rows = query(self.store,
                     "SELECT seq, epoch_ms(timestamp) AS ms, strftime(timestamp,"
                     " '%Y-%m-%dT%H:%M:%S.%gZ') AS ts, level, service, message, n,"
                     " ctx.user.id AS uid, ctx.user.name AS uname, ctx.tags[1] AS tag1,"
                     " ctx['depth']['a']['b'] AS b, ok, ratio,"
                     " json_extract_string(to_json(ctx), '$.tags[1]') AS tag2_json,"
                     " code ->> '$' AS code FROM logs ORDER BY seq")
        self.assertEqual(len(rows), N_RECORDS)
        want = sorted((w for _, w in self.records), key=lambda w: w["seq"])
        for r, w in zip(rows, want):
            with self.subTest(seq=w["seq"]):
                exp = {k: v for k, v in w.items() if k != "part"}
                exp["ts"] = cltest.ms_text(w["ms"])
                exp["tag2_json"] = "\u00e9t\u00e9"
                self.assertEqual(r, exp)
        # A few by hand: unicode (incl. a 4-byte character) and the records at midnight.
        r = query(self.store, "SELECT message, ctx.user.name AS u FROM logs WHERE seq = 'r-0001'")
        self.assertEqual(r, [{"message": "h\u00e9llo \u2713 \u65e5\u672c\u8a9e \U0001F680 1",
                              "u": "\u540d\u524d-1"}])
        r = query(self.store, "SELECT count(*) AS n FROM logs WHERE timestamp >= TIMESTAMP"
                              " '2026-03-15 00:00:00' AND dt = DATE '2026-03-14'")
        self.assertEqual(r, [{"n": 0}], "a record after midnight in the day before's partition")

    def test_d_error_count(self):
        want = sum(1 for _, w in self.records if w["level"] == "error")
        self.assertGreater(want, 0)
        rows = query(self.store, "SELECT count(*) AS n FROM logs WHERE level = 'error'")
        self.assertEqual(rows, [{"n": want}])
        rows = query(self.store, "SELECT level, count(*) AS n FROM logs GROUP BY level")
        self.assertEqual({r["level"]: r["n"] for r in rows},
                         dict(collections.Counter(w["level"] for _, w in self.records)))


if __name__ == "__main__":
    cltest.main()
