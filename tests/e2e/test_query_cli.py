"""End-to-end tests of `cloudlog query` and `cloudlog partitions` over a store written by
the real daemon from a known, seeded data set.

The data set: 5 services, every level, timestamps over three UTC days (2026-11-20 ..
2026-11-22) with extra records a few ms either side of UTC midnights and hour
boundaries, groups of records with the very same timestamp (ties), a hot partition
posted in several rounds (many objects), and two groups of recent records (for
--since and the default range). Timestamps are sent as Z, +05:30, -08:00 and epoch
milliseconds; fields for --where are strings (with unicode, spaces, an escaped '/'),
numbers and booleans; messages carry words for --grep / --regex and some unicode.

Every query's `--format json` output is compared exactly (ids and order, and each line
equal to the stored line) with a reference computed here from what was sent plus the
store's object keys and line positions (ties are ordered by object key, then line).

Set CL_E2E_SEED to replay a run; the seed is printed."""

import collections
import csv
import datetime
import io
import json
import os
import random
import re
import shutil
import time
import zlib

import cltest

UTC = datetime.timezone.utc
NOW_MS = int(time.time() * 1000)


def utc_ms(y, mo, d, h=0, mi=0, s=0, ms=0):
    return int(datetime.datetime(y, mo, d, h, mi, s, tzinfo=UTC).timestamp() * 1000) + ms


SPAN_START = utc_ms(2026, 11, 20)
SPAN_END = utc_ms(2026, 11, 23)
MIDNIGHTS = [utc_ms(2026, 11, 21), utc_ms(2026, 11, 22)]
TIE_TS = utc_ms(2026, 11, 21, 12)           # many records at exactly this ms
MIDNIGHT_TIE = utc_ms(2026, 11, 22)         # some records at exactly 00:00:00.000Z
HOT = ("api", "2026-11-21", "12")           # posted in rounds: several objects
ALL_FROM = "2026-11-19T00:00:00Z"           # before everything

SERVICES = ["api", "apigw", "web", "billing", "worker-2"]
LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"]
SENT_LEVEL = {"trace": ["trace", "TRACE"], "debug": ["debug"], "info": ["info", "Info"],
              "warn": ["warn", "WARNING"], "error": ["error", "ERR"], "fatal": ["fatal"]}
USERS = ["alice", "bob", "carol", "d\u00e4vid", "e v e", "x=y"]
STATUSES = [200, 201, 404, 500, 503]
MESSAGES = ["request timeout on upstream", "Connection TIMEOUT after retry",
            "user login ok", "payment failed: card declined",
            "\u00dcn\u00efcode \u2713 stra\u00dfe", 'said "hi" to, everyone',
            "cache hit ratio Low", "latency_ms spike"]


def iso(ms, off_min=0):
    """RFC 3339 text of ms at a UTC offset of off_min minutes ('Z' for None)."""
    dt = datetime.datetime.fromtimestamp(ms // 1000 + (off_min or 0) * 60, tz=UTC)
    s = dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03d" % (ms % 1000)
    if off_min is None:
        return s + "Z"
    sign = "+" if off_min >= 0 else "-"
    return s + "%s%02d:%02d" % (sign, abs(off_min) // 60, abs(off_min) % 60)


def ascii_lower(s):
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in s)


def make_dataset(rng):
    """[(record dict)], each with id, ms, level, service, message, fields (list of
    (key, sent JSON text, decoded python value))."""
    recs = []

    def add(ms, service=None, level=None):
        i = len(recs)
        level = level or LEVELS[i % len(LEVELS)]
        service = service or rng.choice(SERVICES)
        msg = rng.choice(MESSAGES) + " #%d" % i
        fields = [("id", str(i), i)]
        user = rng.choice(USERS)
        fields.append(("user", json.dumps(user, ensure_ascii=False), user))
        st = rng.choice(STATUSES)
        fields.append(("status", str(st), st))
        if rng.random() < 0.7:
            ok = rng.random() < 0.5
            fields.append(("ok", "true" if ok else "false", ok))
        if rng.random() < 0.3:
            fields.append(("path", '"a\\/b"', "a/b"))
        if rng.random() < 0.3:
            fields.append(("dur", "12.5", 12.5))
        recs.append({"id": i, "ms": ms, "level": level, "service": service,
                     "message": msg, "fields": fields})

    for i in range(1500):
        k = i % 10
        if k == 0:
            add(rng.choice(MIDNIGHTS) + rng.randint(-2000, 2000))
        elif k == 1:  # around an hour boundary
            h = rng.randrange(SPAN_START // 3600000, SPAN_END // 3600000) * 3600000
            add(h + rng.randint(-1500, 1500))
        else:
            add(rng.randrange(SPAN_START, SPAN_END))
    for i in range(12):
        add(TIE_TS, service=rng.choice(["api", "api", "web", "billing"]))
    for i in range(5):
        add(MIDNIGHT_TIE)
    day, hour = HOT[1], int(HOT[2])
    hot0 = utc_ms(*[int(x) for x in day.split("-")], h=hour)
    hot = []
    for i in range(240):
        add(hot0 + rng.randrange(3600000), service="api")
        hot.append(recs[-1]["id"])
    recent_a, recent_b = [], []
    for i in range(60):  # 10..20 minutes ago
        add(NOW_MS - rng.randrange(10 * 60000, 20 * 60000))
        recent_a.append(recs[-1]["id"])
    for i in range(60):  # 75..90 minutes ago
        add(NOW_MS - rng.randrange(75 * 60000, 90 * 60000))
        recent_b.append(recs[-1]["id"])
    return recs, set(hot), recent_a, recent_b


def record_text(rng, r):
    form = rng.randrange(4)
    if form == 0:
        ts = json.dumps(iso(r["ms"], None))
    elif form == 1:
        ts = json.dumps(iso(r["ms"], 330))
    elif form == 2:
        ts = json.dumps(iso(r["ms"], -480))
    else:
        ts = str(r["ms"])
    lv = json.dumps(rng.choice(SENT_LEVEL[r["level"]]))
    members = ['"timestamp":' + ts, '"level":' + lv, '"service":' + json.dumps(r["service"]),
               '"message":' + json.dumps(r["message"], ensure_ascii=False)]
    members += ['"%s":%s' % (k, t) for k, t, _ in r["fields"]]
    return "{" + ", ".join(members) + "}"


def expected_line(r):
    others = ",".join('"%s":%s' % (k, t) for k, t, _ in r["fields"])
    return cltest.norm_line(cltest.ms_text(r["ms"]), r["level"], r["service"], r["message"],
                            others)


class QueryCli(cltest.DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        seed = int(os.environ.get("CL_E2E_SEED", str(int(time.time() * 1000) % 1000000)))
        print("CL_E2E_SEED=%d" % seed, flush=True)
        rng = random.Random(seed)
        cls.recs, cls.hot_ids, cls.recent_a, cls.recent_b = make_dataset(rng)
        cls.by_id = {r["id"]: r for r in cls.recs}
        d = cltest.Daemon(args=["--flush-age", "500ms", "--flush-size", "16KiB",
                                "--processor-workers", "2"]).start()
        cls.data = d.data_dir
        try:
            order = [r for r in cls.recs if r["id"] not in cls.hot_ids]
            rng.shuffle(order)
            hot = [cls.by_id[i] for i in sorted(cls.hot_ids)]
            rounds = [order[:len(order) // 2], hot[:80], order[len(order) // 2:], hot[80:160],
                      hot[160:]]
            for rnd in rounds:
                i = 0
                for _ in range(10000):
                    if i >= len(rnd):
                        break
                    n = rng.randint(1, 80)
                    chunk = rnd[i:i + n]
                    i += len(chunk)
                    body = "[" + ",\n".join(record_text(rng, r) for r in chunk) + "]"
                    st, _, js = d.post_logs(body)
                    assert st == 202 and js.get("accepted") == len(chunk), (st, js)
                cltest.wait_drained(cls.data, timeout=120, dlq=0, daemon=d)
                time.sleep(0.7)  # > flush age: the next round lands in new objects
            cltest.wait_drained(cls.data, timeout=120, dlq=0, daemon=d)
            # A query while the daemon runs (and holds queue.db open).
            cls.live = cltest.run_cli(["query", "--data", cls.data, "--from", ALL_FROM,
                                       "--limit", "0", "--format", "json"], timeout=120)
        finally:
            d.stop()
        # Where each record landed: object key and line number (tie order).
        cls.where = {}
        cls.objects = {}
        for o, lines in cltest.stored_lines(cls.data):
            cls.objects[o["key"]] = (o, lines)
            for n, line in enumerate(lines):
                rid = json.loads(line)["id"]
                assert rid not in cls.where, "id %d stored twice" % rid
                cls.where[rid] = (o["key"], n, line)
        cls.catalog = cltest.catalog_rows(os.path.join(cls.data, "queue.db"))
        print("%d records, %d objects, %d partitions" % (
            len(cls.recs), len(cls.objects),
            len({(o["service"], o["dt"], o["hour"]) for o, _ in cls.objects.values()})),
            flush=True)

    # -- helpers -----------------------------------------------------------------------
    def query(self, args, expect_rc=0, data=None):
        rc, out, err = cltest.run_cli(["query", "--data", data or self.data] + list(args),
                                      timeout=120)
        self.assertEqual(rc, expect_rc, "cloudlog query %s -> %d: %s" % (args, rc, err[-2000:]))
        return out, err

    def ids(self, args, data=None):
        """Runs a json query; checks every line is the stored line; returns the ids."""
        out, _ = self.query(list(args) + ["--format", "json"], data=data)
        got = []
        for line in out.split("\n")[:-1] if out else []:
            rid = json.loads(line)["id"]
            self.assertIn(rid, self.where, "unknown record %r" % line[:200])
            self.assertEqual(line, self.where[rid][2], "output line differs from stored line")
            got.append(rid)
        if out:
            self.assertTrue(out.endswith("\n"))
        return got

    def ref(self, pred, frm=None, to=None, order="newest", limit=100, pool=None):
        """Expected ids: records in [frm, to) passing pred, ordered by ts (newest or
        oldest first), ties by object key then line, at most limit (0: all)."""
        to = NOW_MS + 3600000 if to is None else to
        frm = -1 << 62 if frm is None else frm
        sel = [r for r in self.recs if frm <= r["ms"] < to and pred(r)
               and (pool is None or r["id"] in pool)]
        sgn = -1 if order == "newest" else 1
        sel.sort(key=lambda r: (sgn * r["ms"], self.where[r["id"]][0], self.where[r["id"]][1]))
        sel = [r["id"] for r in sel]
        return sel[:limit] if limit else sel

    def line(self, r):
        return self.where[r["id"]][2]

    def field(self, r, k):
        for key, _, v in r["fields"]:
            if key == k:
                return v
        return None

    def check(self, args, pred, frm=ALL_FROM, to=None, order="newest", limit=100, **kw):
        a = list(args)
        if frm is not None:
            a += ["--from", frm]
        if to is not None:
            a += ["--to", to]
        got = self.ids(a, **kw)
        want = self.ref(pred, frm=iso_ms(frm) if frm else None, to=iso_ms(to) if to else None,
                        order=order, limit=limit)
        if got != want:
            gs, ws = set(got), set(want)
            self.fail("query %s: got %d ids, want %d; missing %s, extra %s; order differs: %s"
                      % (a, len(got), len(want), sorted(ws - gs)[:10], sorted(gs - ws)[:10],
                         gs == ws))
        return want

    # -- tests -------------------------------------------------------------------------
    def test_store_holds_every_record(self):
        self.assertEqual(set(self.where), set(self.by_id))
        for r in self.recs:
            self.assertEqual(self.where[r["id"]][2], expected_line(r))
        self.assertGreater(len(self.objects), 50)

    def test_query_while_daemon_runs(self):
        rc, out, err = self.live
        self.assertEqual(rc, 0, err)
        got = [json.loads(l)["id"] for l in out.splitlines()]
        self.assertEqual(got, self.ref(lambda r: True, frm=iso_ms(ALL_FROM), limit=0))

    def test_each_filter_alone(self):
        L = LEVELS.index
        cases = [
            (["--limit", "0"], lambda r: True),
            (["--service", "api", "--limit", "0"], lambda r: r["service"] == "api"),
            (["--service", "ap*", "--limit", "0"], lambda r: r["service"] in ("api", "apigw")),
            (["--service", "*-[0-9]", "--limit", "0"], lambda r: r["service"] == "worker-2"),
            (["--service", "web", "--service", "billing", "--limit", "0"],
             lambda r: r["service"] in ("web", "billing")),
            (["--service", "nosuch"], lambda r: False),
            (["--level", "error", "--limit", "0"], lambda r: r["level"] == "error"),
            (["--level", "warn+", "--limit", "0"], lambda r: L(r["level"]) >= L("warn")),
            (["--level", "trace", "--level", "fatal", "--limit", "0"],
             lambda r: r["level"] in ("trace", "fatal")),
            (["--level", "debug+", "--level", "trace", "--limit", "0"], lambda r: True),
            (["--grep", "timeout", "--limit", "0"], lambda r: "timeout" in self.line(r)),
            (["--grep", "TIMEOUT", "--limit", "0"], lambda r: "TIMEOUT" in self.line(r)),
            (["--grep", "TimeOut", "-i", "--limit", "0"],
             lambda r: "timeout" in ascii_lower(self.line(r))),
            (["--grep", "low", "--ignore-case", "--limit", "0"],
             lambda r: "low" in ascii_lower(self.line(r))),
            (["--grep", "stra\u00dfe", "--limit", "0"], lambda r: "stra\u00dfe" in self.line(r)),
            # -i folds ASCII only: '\u00fc' does not match '\u00dc'.
            (["--grep", "\u00fcN\u00efCODE", "-i", "--limit", "0"],
             lambda r: "\u00fcn\u00efcode" in ascii_lower(self.line(r))),
            (["--grep", '\\"hi\\"', "--limit", "0"], lambda r: '\\"hi\\"' in self.line(r)),
            (["--grep", '"status":500', "--limit", "0"], lambda r: '"status":500' in self.line(r)),
            (["--regex", r'"status":50[0-9],', "--limit", "0"],
             lambda r: re.search(r'"status":50[0-9],', self.line(r))),
            (["--regex", r"#\d*7\b", "--limit", "0"], lambda r: re.search(r"#\d*7\b", self.line(r))),
            (["--regex", "^\\{\"timestamp\":\"2026-11-21T23:59:5", "--limit", "0"],
             lambda r: self.line(r).startswith('{"timestamp":"2026-11-21T23:59:5')),
            (["--regex", "\u2713 stra\u00dfe", "--limit", "0"],
             lambda r: "\u2713 stra\u00dfe" in self.line(r)),
            (["--where", "user=alice", "--limit", "0"], lambda r: self.field(r, "user") == "alice"),
            (["--where", "user=d\u00e4vid", "--limit", "0"],
             lambda r: self.field(r, "user") == "d\u00e4vid"),
            (["--where", "user=e v e", "--limit", "0"], lambda r: self.field(r, "user") == "e v e"),
            (["--where", "user=x=y", "--limit", "0"], lambda r: self.field(r, "user") == "x=y"),
            (["--where", "status=500", "--limit", "0"], lambda r: self.field(r, "status") == 500),
            (["--where", "ok=true", "--limit", "0"], lambda r: self.field(r, "ok") is True),
            (["--where", "ok=false", "--limit", "0"], lambda r: self.field(r, "ok") is False),
            (["--where", "path=a/b", "--limit", "0"], lambda r: self.field(r, "path") == "a/b"),
            (["--where", "dur=12.5", "--limit", "0"], lambda r: self.field(r, "dur") == 12.5),
            (["--where", "status=\"500\"", "--limit", "0"], lambda r: False),
            (["--where", "nosuch=1"], lambda r: False),
            (["--where", "level=error", "--limit", "0"], lambda r: r["level"] == "error"),
        ]
        for args, pred in cases:
            with self.subTest(args=args):
                self.check(args, pred, limit=0 if "0" in args else 100)

    def test_combinations(self):
        L = LEVELS.index
        cases = [
            (["--service", "ap*", "--level", "warn+", "--grep", "timeout", "-i"],
             lambda r: r["service"].startswith("ap") and L(r["level"]) >= 3
             and "timeout" in ascii_lower(self.line(r))),
            (["--service", "web", "--service", "api", "--where", "status=500", "--where", "ok=true"],
             lambda r: r["service"] in ("web", "api") and self.field(r, "status") == 500
             and self.field(r, "ok") is True),
            (["--level", "error", "--level", "fatal", "--regex", "payment|login", "--where",
              "user=bob"],
             lambda r: r["level"] in ("error", "fatal") and re.search("payment|login", self.line(r))
             and self.field(r, "user") == "bob"),
            (["--grep", "#1", "--regex", "#1[0-9]{2}\\b", "--level", "info+"],
             lambda r: "#1" in self.line(r) and re.search(r"#1[0-9]{2}\b", self.line(r))
             and L(r["level"]) >= 2),
            (["--service", "billing", "--level", "trace", "--where", "dur=12.5", "--grep", "ok"],
             lambda r: r["service"] == "billing" and r["level"] == "trace"
             and self.field(r, "dur") == 12.5 and "ok" in self.line(r)),
        ]
        n_nonempty = 0
        for args, pred in cases:
            for order in ("newest", "oldest"):
                for limit in (0, 3):
                    with self.subTest(args=args, order=order, limit=limit):
                        w = self.check(args + ["--order", order, "--limit", str(limit)], pred,
                                       order=order, limit=limit)
                        n_nonempty += bool(w)
        self.assertGreater(n_nonempty, 8, "the combinations should mostly match something")

    def test_time_ranges_with_offsets_across_midnight(self):
        mid = MIDNIGHTS[1]  # 2026-11-22T00:00:00Z; 5 records at exactly this ms
        ranges = [
            # same instant written three ways
            ("2026-11-21T23:59:59.000Z", "2026-11-22T00:00:01.000Z"),
            ("2026-11-22T05:29:59.000+05:30", "2026-11-21T16:00:01.000-08:00"),
            ("2026-11-22T00:00:00Z", "2026-11-22T00:00:02Z"),            # inclusive from
            ("2026-11-21T23:59:58Z", "2026-11-22T00:00:00Z"),            # exclusive to
            ("2026-11-22T05:30:00+05:30", "2026-11-22T05:30:00.001+05:30"),  # only the tie
            ("2026-11-20T16:00:00-08:00", "2026-11-21T05:30:00.001+05:30"),  # 1 ms at 00:00Z
            ("2026-11-21T06:59:59.500+05:30", "2026-11-21T01:30:01.5+00:00"),  # hour edge
            ("2026-11-20T22:30:00-01:30", "2026-11-21T00:30:00Z"),
            ("2026-11-20T00:00:00Z", "2026-11-23T00:00:00Z"),
        ]
        for frm, to in ranges:
            for order in ("newest", "oldest"):
                with self.subTest(frm=frm, to=to, order=order):
                    self.check(["--order", order, "--limit", "0"], lambda r: True, frm=frm, to=to,
                               order=order, limit=0)
        self.assertGreaterEqual(len(self.ref(lambda r: True, frm=mid, to=mid + 1, limit=0)), 5)

    def test_since_and_default_range(self):
        # recent_a: 10..20 minutes ago; recent_b: 75..90 minutes ago.
        got = self.ids(["--limit", "0"])
        self.assertEqual(got, self.ref(lambda r: r["id"] in self.recent_a, limit=0))
        got = self.ids(["--since", "35m", "--limit", "0", "--order", "oldest"])
        self.assertEqual(got, self.ref(lambda r: r["id"] in self.recent_a, order="oldest",
                                       limit=0))
        got = self.ids(["--since", "2h", "--limit", "0"])
        self.assertEqual(got, self.ref(lambda r: r["id"] in self.recent_a + self.recent_b,
                                       limit=0))
        got = self.ids(["--since", "5m"])
        self.assertEqual(got, [])
        # --since with an RFC 3339 time and an offset: from then to now.
        got = self.ids(["--since", "2026-11-22T05:30:00+05:30", "--limit", "0"])
        self.assertEqual(got, self.ref(lambda r: True, frm=MIDNIGHTS[1], limit=0))

    def test_order_limit_and_ties(self):
        all_new = self.check(["--limit", "0"], lambda r: True, limit=0)
        all_old = self.check(["--limit", "0", "--order", "oldest"], lambda r: True,
                             order="oldest", limit=0)
        self.assertEqual(len(all_new), len(self.recs))
        self.assertEqual(len(all_old), len(self.recs))
        self.check([], lambda r: True, limit=100)  # default limit 100
        for limit in (1, 2, 7, 99, 1000):
            for order in ("newest", "oldest"):
                with self.subTest(limit=limit, order=order):
                    self.check(["--limit", str(limit), "--order", order], lambda r: True,
                               order=order, limit=limit)
        # A limit that cuts a group of equal timestamps: key, then line order decide.
        frm, to = iso(TIE_TS - 5000, None), iso(TIE_TS + 1, None)
        ties = [r for r in self.recs if r["ms"] == TIE_TS]
        self.assertGreaterEqual(len(ties), 12)
        for order in ("newest", "oldest"):
            for limit in (1, 3, 5, 11, 0):
                with self.subTest(ties=True, order=order, limit=limit):
                    self.check(["--limit", str(limit), "--order", order], lambda r: True,
                               frm=frm, to=to, order=order, limit=limit)
        for limit in (2, 4):
            for order in ("newest", "oldest"):
                with self.subTest(midnight_ties=True, order=order, limit=limit):
                    self.check(["--limit", str(limit), "--order", order], lambda r: True,
                               frm="2026-11-21T23:59:59.999Z", to="2026-11-22T00:00:00.001Z",
                               order=order, limit=limit)

    def test_count(self):
        L = LEVELS.index
        for args, pred in [
                ([], lambda r: True),
                (["--level", "warn+", "--limit", "5"], lambda r: L(r["level"]) >= 3),
                (["--service", "ap*", "--grep", "timeout", "-i"],
                 lambda r: r["service"].startswith("ap") and "timeout" in ascii_lower(self.line(r))),
                (["--service", "nosuch"], lambda r: False)]:
            with self.subTest(args=args):
                out, _ = self.query(args + ["--count", "--from", ALL_FROM])
                self.assertEqual(out, "%d\n" % len(self.ref(pred, frm=0, limit=0)))

    def test_empty_results(self):
        for args in (["--service", "nosuch"], ["--grep", "no such text anywhere"],
                     ["--from", "2026-11-19T00:00:00Z", "--to", "2026-11-19T23:00:00Z"],
                     ["--from", "2030-01-01T00:00:00Z", "--to", "2030-01-02T00:00:00Z"]):
            for fmt in ("json", "text", "csv"):
                with self.subTest(args=args, fmt=fmt):
                    a = list(args)
                    if "--from" not in a:
                        a += ["--from", ALL_FROM]
                    out, err = self.query(a + ["--format", fmt])
                    # docs/query.md: csv "has the header"; json and text print nothing.
                    want = "timestamp,level,service,message,fields\r\n" if fmt == "csv" else ""
                    self.assertEqual(out, want, "output for no matches")

    def test_format_text(self):
        frm = "2026-11-21T00:00:00Z"
        want = self.ref(lambda r: r["service"] in ("api", "billing"), frm=iso_ms(frm),
                        to=iso_ms("2026-11-21T06:00:00Z"), limit=0)
        out, _ = self.query(["--service", "api", "--service", "billing", "--from", frm,
                             "--to", "2026-11-21T06:00:00Z", "--limit", "0", "--format", "text"])
        self.assertNotIn("\x1b", out, "colour codes although stdout is not a terminal")
        lines = out.split("\n")
        self.assertEqual(lines[-1], "")
        lines = lines[:-1]
        self.assertEqual(len(lines), len(want))
        for line, rid in zip(lines, want):
            r = self.by_id[rid]
            head = "%s %-5s %s " % (cltest.ms_text(r["ms"]), r["level"].upper(), r["service"])
            self.assertTrue(line.startswith(head), (line, head))
            self.assertIn(" %s " % r["message"], line)
            self.assertIn(" id=%d" % rid, line)
            user = self.field(r, "user")
            bare = " " not in user and "=" not in user and '"' not in user
            self.assertIn(" user=%s" % (user if bare else json.dumps(user, ensure_ascii=False)),
                          line)
            self.assertIn(" status=%d" % self.field(r, "status"), line)

    def test_format_csv(self):
        want = self.ref(lambda r: True, frm=iso_ms("2026-11-21T22:00:00Z"),
                        to=iso_ms("2026-11-22T02:00:00Z"), limit=0)
        out, _ = self.query(["--from", "2026-11-21T22:00:00Z", "--to", "2026-11-22T02:00:00Z",
                             "--limit", "0", "--format", "csv"])
        self.assertTrue(out.startswith("timestamp,level,service,message,fields\r\n"), out[:100])
        self.assertTrue(out.endswith("\r\n"))
        rows = list(csv.reader(io.StringIO(out, newline="")))
        self.assertEqual(rows[0], ["timestamp", "level", "service", "message", "fields"])
        rows = rows[1:]
        self.assertEqual(len(rows), len(want))
        for row, rid in zip(rows, want):
            r = self.by_id[rid]
            self.assertEqual(row[:4], [cltest.ms_text(r["ms"]), r["level"], r["service"],
                                       r["message"]])
            self.assertEqual(json.loads(row[4]), {k: v for k, _, v in r["fields"]})
        self.assertTrue(any('"' in r[3] and "," in r[3] for r in rows), "quoting exercised")

    def test_pruning_with_stats(self):
        svc, dt, hh = HOT
        frm, to = "%sT%s:15:00Z" % (dt, hh), "%sT%s:30:00Z" % (dt, hh)
        part_objs = [r for r in self.catalog
                     if (r["service"], r["dt"], int(r["hour"])) == (svc, dt, int(hh))]
        self.assertGreaterEqual(len(part_objs), 3, "the hot partition should hold several objects")
        out, err = self.query(["--service", svc, "--from", frm, "--to", to, "--limit", "0",
                               "--stats", "--format", "json"])
        got = [json.loads(l)["id"] for l in out.splitlines()]
        self.assertEqual(got, self.ref(lambda r: r["service"] == svc, frm=iso_ms(frm),
                                       to=iso_ms(to), limit=0))
        st = parse_stats(err)
        print("pruned query stats: %s (partition objects %d, store %d)"
              % (st, len(part_objs), len(self.catalog)), flush=True)
        self.assertLessEqual(st["opened"], len(part_objs))
        self.assertLess(st["opened"] * 10, len(self.catalog))
        self.assertEqual(st["failed"], 0)
        self.assertEqual(st["matched"], len(got))
        # Objects whose catalog bounds miss the range must not be opened.
        overlapping = [r for r in part_objs if r["min_ts"] < iso_ms(to) and r["max_ts"] >= iso_ms(frm)]
        self.assertLessEqual(st["opened"], len(overlapping))
        # The full scan opens everything.
        _, err = self.query(["--from", ALL_FROM, "--count", "--stats"])
        full = parse_stats(err)
        self.assertEqual(full["opened"], len(self.catalog))
        self.assertEqual(full["matched"], len(self.recs))
        self.assertEqual(full["scanned"], len(self.recs))

    def test_object_cut_at_a_member_boundary_is_skipped(self):
        # A cut between two gzip members leaves valid gzip: the catalog's size shows it.
        data = cltest.mkdtemp("cl-cut-")
        shutil.rmtree(data)
        shutil.copytree(self.data, data)
        cut = None
        for k in sorted(self.objects):
            path = os.path.join(data, "logs", k)
            raw = open(path, "rb").read()
            d = zlib.decompressobj(31)
            d.decompress(raw)
            if d.unused_data:
                cut = (k, path, len(raw) - len(d.unused_data))
                break
        self.assertIsNotNone(cut, "no stored object has two gzip members")
        k, path, first = cut
        with open(path, "r+b") as f:
            f.truncate(first)
        rc, _, err = cltest.run_cli(["query", "--data", data, "--from", ALL_FROM, "--count",
                                     "--stats"], timeout=120)
        self.assertEqual(rc, 0, err)
        self.assertRegex(err, r"skipping [^\n]*%s[^\n]*: truncated or changed" % re.escape(k))
        self.assertEqual(parse_stats(err)["failed"], 1, err)

    def test_corrupt_and_truncated_objects_are_skipped(self):
        data = cltest.mkdtemp("cl-corrupt-")
        shutil.rmtree(data)
        shutil.copytree(self.data, data)
        keys = sorted(k for k, (o, lines) in self.objects.items() if len(lines) >= 2)
        garbage, trunc = keys[len(keys) // 3], keys[2 * len(keys) // 3]
        gpath = os.path.join(data, "logs", garbage)
        tpath = os.path.join(data, "logs", trunc)
        size = os.path.getsize(gpath)
        with open(gpath, "wb") as f:
            f.write(bytes(random.Random(7).randrange(256) for _ in range(max(size, 64))))
        with open(tpath, "r+b") as f:
            f.truncate(os.path.getsize(tpath) // 2)
        lost = {json.loads(l)["id"] for k in (garbage, trunc) for l in self.objects[k][1]}
        rc, out, err = cltest.run_cli(["query", "--data", data, "--from", ALL_FROM, "--limit", "0",
                                       "--stats"], timeout=120)
        self.assertEqual(rc, 0, err)
        for k in (garbage, trunc):
            self.assertRegex(err, r"skipping [^\n]*%s[^\n]*: \S" % re.escape(k))
        got = [json.loads(l)["id"] for l in out.splitlines()]
        self.assertEqual(got, self.ref(lambda r: r["id"] not in lost, frm=0, limit=0))
        st = parse_stats(err)
        self.assertEqual(st["failed"], 2, err)
        # Ordered with a limit, and counting, also skip them and go on.
        got = self.ids(["--from", ALL_FROM, "--order", "oldest", "--limit", "300"], data=data)
        self.assertEqual(got, self.ref(lambda r: r["id"] not in lost, frm=0, order="oldest",
                                       limit=300))
        rc, out, err = cltest.run_cli(["query", "--data", data, "--from", ALL_FROM, "--count"],
                                      timeout=120)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, "%d\n" % (len(self.recs) - len(lost)))
        # A deleted object (catalog row left) is reported too.
        os.unlink(os.path.join(data, "logs", keys[0]))
        lost |= {json.loads(l)["id"] for l in self.objects[keys[0]][1]}
        rc, out, err = cltest.run_cli(["query", "--data", data, "--from", ALL_FROM, "--count"],
                                      timeout=120)
        self.assertEqual(rc, 0, err)
        self.assertIn(keys[0], err)
        self.assertEqual(out, "%d\n" % (len(self.recs) - len(lost)))

    def test_without_catalog(self):
        """Without queue.db the store is listed: same records, same order."""
        data = cltest.mkdtemp("cl-nocat-")
        shutil.copytree(os.path.join(self.data, "logs"), os.path.join(data, "logs"))
        L = LEVELS.index
        for args, pred in [([], lambda r: True),
                           (["--service", "ap*", "--level", "error+"],
                            lambda r: r["service"].startswith("ap") and L(r["level"]) >= 4),
                           (["--service", "web", "--where", "ok=true"],
                            lambda r: r["service"] == "web" and self.field(r, "ok") is True)]:
            for order in ("newest", "oldest"):
                for limit in (0, 5):
                    with self.subTest(args=args, order=order, limit=limit):
                        self.check(args + ["--order", order, "--limit", str(limit)], pred,
                                   order=order, limit=limit, data=data)
        svc, dt, hh = HOT
        frm, to = "%sT%s:15:00Z" % (dt, hh), "%sT%s:30:00Z" % (dt, hh)
        _, err = self.query(["--service", svc, "--from", frm, "--to", to, "--count", "--stats"],
                            data=data)
        st = parse_stats(err)
        n_part = sum(1 for o, _ in self.objects.values()
                     if (o["service"], o["dt"], o["hour"]) == HOT)
        self.assertLessEqual(st["opened"], n_part)
        rc, out, err = cltest.run_cli(["partitions", "--data", data, "--json"], timeout=60)
        self.assertEqual(rc, 0, err)
        parts = self.expected_partitions()
        got = {}
        for j in map(json.loads, out.splitlines()):
            got[(j["service"], j["dt"], j["hour"])] = (j["objects"], j["bytes"])
            self.assertNotIn("records", j)
        self.assertEqual(got, {k: (len(p["objects"]), p["bytes"]) for k, p in parts.items()})

    def test_store_url(self):
        """--store file:DIR reads that store (no catalog) from any data directory."""
        url = "file:" + os.path.join(self.data, "logs")
        empty = cltest.mkdtemp("cl-nodata-")
        L = LEVELS.index
        for args, pred in [([], lambda r: True),
                           (["--service", "ap*", "--level", "warn+"],
                            lambda r: r["service"].startswith("ap") and L(r["level"]) >= 3)]:
            for order in ("newest", "oldest"):
                with self.subTest(args=args, order=order):
                    self.check(args + ["--store", url, "--order", order, "--limit", "0"], pred,
                               order=order, limit=0, data=empty)
        rc, out, err = cltest.run_cli(["partitions", "--data", empty, "--store", url, "--json"],
                                      timeout=60)
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out.splitlines()), len(self.expected_partitions()))
        missing = os.path.join(empty, "nope")
        rc, _, err = cltest.run_cli(["query", "--store", "file:" + missing], timeout=60)
        self.assertEqual(rc, 1)
        self.assertIn("no store", err)
        self.assertFalse(os.path.exists(missing), "a reader must not create a store")

    def expected_partitions(self):
        parts = {}
        for r in self.recs:
            key, _, _ = self.where[r["id"]]
            o, _ = self.objects[key]
            p = parts.setdefault((o["service"], o["dt"], int(o["hour"])),
                                 {"objects": set(), "records": 0, "bytes": 0, "ts": []})
            p["records"] += 1
            p["ts"].append(r["ms"])
            if key not in p["objects"]:
                p["objects"].add(key)
                p["bytes"] += o["size"]
            # the partition is the record's UTC date and hour
            self.assertEqual((o["dt"], int(o["hour"])),
                             (cltest.ms_text(r["ms"])[:10], int(cltest.ms_text(r["ms"])[11:13])))
        return parts

    def test_partitions_json(self):
        parts = self.expected_partitions()
        rc, out, err = cltest.run_cli(["partitions", "--data", self.data, "--json"], timeout=60)
        self.assertEqual(rc, 0, err)
        got = {}
        for line in out.splitlines():
            j = json.loads(line)
            k = (j["service"], j["dt"], j["hour"])
            self.assertNotIn(k, got)
            got[k] = j
        self.assertEqual(sorted(got), sorted(parts))
        for k, p in parts.items():
            j = got[k]
            self.assertEqual((j["objects"], j["records"], j["bytes"]),
                             (len(p["objects"]), p["records"], p["bytes"]), k)
            self.assertEqual(cltest.ts_ms(j["min_ts"]), min(p["ts"]), k)
            self.assertEqual(cltest.ts_ms(j["max_ts"]), max(p["ts"]), k)
        # Filters: a glob and a range crossing midnight, with offsets.
        rc, out, err = cltest.run_cli(["partitions", "--data", self.data, "--json", "--service",
                                       "ap*", "--from", "2026-11-21T04:30:00+05:30", "--to",
                                       "2026-11-21T17:00:00-08:00"], timeout=60)
        self.assertEqual(rc, 0, err)
        got = sorted((j["service"], j["dt"], j["hour"]) for j in map(json.loads, out.splitlines()))
        frm, to = iso_ms("2026-11-20T23:00:00Z"), iso_ms("2026-11-22T01:00:00Z")
        want = sorted(k for k in parts if k[0] in ("api", "apigw") and
                      frm <= utc_ms(*map(int, k[1].split("-")), h=k[2]) < to)
        self.assertEqual(got, want)

    def test_partitions_text(self):
        parts = self.expected_partitions()
        rc, out, err = cltest.run_cli(["partitions", "--data", self.data], timeout=60)
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split()[:6], ["SERVICE", "DT", "HH", "OBJECTS", "RECORDS", "BYTES"])
        got = {}
        for line in lines[1:]:
            f = line.split()
            got[(f[0], f[1], int(f[2]))] = (int(f[3]), int(f[4]))
            self.assertIn(" .. ", line)
        self.assertEqual(got, {k: (len(p["objects"]), p["records"]) for k, p in parts.items()})

    def test_help_runs_no_query(self):
        for cmd in (["query"], ["partitions"], ["tail"]):
            with self.subTest(cmd=cmd):
                rc, out, err = cltest.run_cli(cmd + ["--data", self.data, "--help"], timeout=60)
                self.assertEqual(rc, 0, err)
                self.assertIn("Usage:", out)
                self.assertNotIn('{"timestamp"', out)
                self.assertEqual(err, "")

    def test_bad_input(self):
        for args, word in [
                (["--regex", "(unclosed"], "regex"),
                (["--regex", "a{2,1}"], "regex"),
                (["--level", "loud"], "level"),
                (["--level", "warn++"], "level"),
                (["--from", "2026-11-22T00:00:00Z", "--to", "2026-11-22T00:00:00Z"], "from"),
                (["--from", "2026-11-22T00:00:00Z", "--to", "2026-11-21T23:00:00+05:30"], "from"),
                (["--from", "yesterday"], "time"),
                (["--from", "2026-13-01T00:00:00Z"], "time"),
                (["--to", "2026-11-22 25:00"], "time"),
                (["--since", "15x"], "time"),
                (["--since", "9223372036854775807ms"], "out of range"),  # once: silently 0
                (["--count", "--from", "100000000d"], "out of range"),
                (["--where", "nofield"], "where"),
                (["--order", "sideways"], "order"),
                (["--format", "xml"], "format"),
                (["--limit", "-1"], "limit"),
                (["--no-such-option"], "")]:
            with self.subTest(args=args):
                rc, out, err = cltest.run_cli(["query", "--data", self.data] + args, timeout=60)
                self.assertEqual(rc, 2, "args %s: rc %d, stderr %r" % (args, rc, err))
                self.assertEqual(out, "")
                self.assertTrue(err.strip(), "a message on stderr")
                self.assertIn(word, err.lower())
        missing = os.path.join(cltest.mkdtemp("cl-missing-"), "nope")
        for cmd in (["query"], ["partitions"], ["query", "--count"]):
            with self.subTest(missing=cmd):
                rc, out, err = cltest.run_cli(cmd + ["--data", missing], timeout=60)
                self.assertEqual(rc, 1, err)
                self.assertIn("nope", err)
        rc, out, err = cltest.run_cli(["partitions", "--data", self.data, "--from", "bogus"])
        self.assertEqual(rc, 2, err)


def iso_ms(text):
    """ms of an RFC 3339 time with any offset and fraction."""
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$", text)
    assert m, text
    y, mo, d, h, mi, s = (int(x) for x in m.groups()[:6])
    frac = (m.group(7) or "0")[:3].ljust(3, "0")
    ms = utc_ms(y, mo, d, h, mi, s, int(frac))
    z = m.group(8)
    if z != "Z":
        off = int(z[1:3]) * 60 + int(z[4:6])
        ms -= (1 if z[0] == "+" else -1) * off * 60000
    return ms


STATS_RE = re.compile(r"objects\s+(\d+) considered, (\d+) pruned, (\d+) opened, (\d+) failed"
                      r"[\s\S]*?records\s+(\d+) scanned, (\d+) matched")


def parse_stats(err):
    m = STATS_RE.search(err)
    assert m, "no stats on stderr: %r" % err[-1000:]
    c, p, o, f, s, mt = (int(x) for x in m.groups())
    return {"considered": c, "pruned": p, "opened": o, "failed": f, "scanned": s, "matched": mt}


if __name__ == "__main__":
    cltest.main()
