"""Processor end to end: a known mixed data set (several services, every level and many
level aliases, timestamps over three UTC days around two midnights written with offsets,
without a zone, and as epoch numbers; array, NDJSON and single-object bodies, plain and
gzip) is POSTed, drained into the store, and every object is read back with the
system's `gzip -dc`. Each stored line must be exactly the normalized record computed
here, in the partition (service, UTC date, UTC hour) its path names, each once; the
catalog rows must describe the files.

Set CL_E2E_SEED to replay a run; the seed is printed."""

import collections
import datetime
import json
import os
import random
import time

import cltest

UTC = datetime.timezone.utc
# 2025-12-31 20:00Z .. 2026-01-02 02:00Z: two UTC midnights, a year boundary.
SPAN_START = int(datetime.datetime(2025, 12, 31, 20, 0, tzinfo=UTC).timestamp() * 1000)
SPAN_END = int(datetime.datetime(2026, 1, 2, 2, 0, tzinfo=UTC).timestamp() * 1000)
# Extra weight right around the midnights (records a few ms either side of 00:00Z).
MIDNIGHTS = [int(datetime.datetime(2026, 1, d, 0, 0, tzinfo=UTC).timestamp() * 1000)
             for d in (1, 2)]

LEVELS = [  # (value as sent (JSON text), normalized)
    ('"TRACE"', "trace"), ('"verbose"', "trace"), ("10", "trace"),
    ('"debug"', "debug"), ('"DBG"', "debug"), ("20", "debug"),
    ('"Info"', "info"), ('"notice"', "info"), ("30", "info"), ('"information"', "info"),
    ('"WARNING"', "warn"), ('"warn"', "warn"), ("40", "warn"),
    ('"err"', "error"), ('"ERROR"', "error"), ("50", "error"),
    ('"critical"', "fatal"), ('"FATAL"', "fatal"), ("60", "fatal"), ('"panic"', "fatal"),
    (None, "info"),  # no level at all
]
SERVICES = ["api", "web.frontend", "batch-worker_2", "Billing"]


def iso(ms, off_min=0, sep="T", frac_digits=3, extra_digits="", zone="offset"):
    """Local time of ms at offset off_min, written as an RFC 3339 / ISO 8601 string."""
    dt = datetime.datetime.fromtimestamp((ms // 1000) + off_min * 60, tz=UTC)
    s = dt.strftime("%Y-%m-%d") + sep + dt.strftime("%H:%M:%S")
    frac = "%03d" % (ms % 1000) + extra_digits
    s += "." + frac[:frac_digits] if frac_digits else ""
    if zone == "none":
        return s
    if zone == "Z":
        return s + "Z"
    sign = "+" if off_min >= 0 else "-"
    a = abs(off_min)
    if zone == "compact":
        return s + "%s%02d%02d" % (sign, a // 60, a % 60)
    return s + "%s%02d:%02d" % (sign, a // 60, a % 60)


def timestamp_form(rng, ms):
    """(JSON text of a timestamp value meaning ms, possibly with sub-ms digits, ms it
    normalizes to)."""
    k = rng.randrange(9)
    if k == 0:
        return cltest.jstr(iso(ms, zone="Z")), ms
    if k == 1:
        off = rng.choice([330, -480, 60, -150, 0, 840, -690])
        return cltest.jstr(iso(ms, off)), ms
    if k == 2:
        off = rng.choice([120, -300])
        return cltest.jstr(iso(ms, off, zone="compact")), ms
    if k == 3:  # no zone: UTC
        return cltest.jstr(iso(ms, sep=" ", zone="none")), ms
    if k == 4:  # six fraction digits: truncated, never rounded
        return cltest.jstr(iso(ms, -60, frac_digits=6, extra_digits="999")), ms
    if k == 5:  # epoch seconds with a fraction (Fluent Bit)
        return "%d.%03d" % (ms // 1000, ms % 1000), ms
    if k == 6:  # epoch milliseconds
        return "%d" % ms, ms
    if k == 7:  # epoch nanoseconds
        return "%d%06d" % (ms, rng.randrange(1000000)), ms
    # whole seconds, no fraction, offset
    ms = ms - ms % 1000
    return cltest.jstr(iso(ms, 540, frac_digits=0)), ms


def make_dataset(rng, n):
    """Returns [(record dict with 'text', 'has_service', 'expected' line minus service)]."""
    recs = []
    for i in range(n):
        if i % 7 == 0:
            ms = rng.choice(MIDNIGHTS) + rng.randint(-1500, 1500)
        else:
            ms = rng.randrange(SPAN_START, SPAN_END)
        ts_text, ts_ms = timestamp_form(rng, ms)
        lvl_text, lvl = LEVELS[i % len(LEVELS)]
        msg = rng.choice(["plain message %d" % i, "h\u00e9llo \u2713 %d" % i,
                          'quote " and\nnewline %d' % i, "tab\there %d" % i])
        members = []  # (key, sent JSON text, expected JSON text or None if consumed)
        members.append((rng.choice(["timestamp", "time", "ts", "@timestamp", "date"]),
                        ts_text, None))
        if lvl_text is not None:
            members.append((rng.choice(["level", "severity", "lvl"]), lvl_text, None))
        members.append((rng.choice(["message", "msg", "log"]),
                        json.dumps(msg, ensure_ascii=False), None))
        svc_mode = rng.randrange(3)  # 0: service key, 1: app key, 2: from header/default
        svc = rng.choice(SERVICES)
        if svc_mode == 0:
            members.append(("service", cltest.jstr(svc), None))
        elif svc_mode == 1:
            members.append(("app", cltest.jstr(svc), None))
        nested = {"a": [1, 2, {"b": "x, y: z"}], "n": None, "t": True}
        for key, val in (("seq", "e2e-%d" % i), ("n", i), ("nested", nested),
                         ("f", 1.5e3 if i % 2 else -0.25)):
            members.append((key, json.dumps(val, ensure_ascii=False),
                            json.dumps(val, ensure_ascii=False, separators=(",", ":"))))
        rng.shuffle(members)
        text = "{" + ", ".join('"%s" : %s' % (k, v) for k, v, _ in members) + "}"
        others = ",".join('"%s":%s' % (k, e) for k, _, e in members if e is not None)
        recs.append({"text": text, "ts": cltest.ms_text(ts_ms), "level": lvl,
                     "message": msg, "others": others,
                     "service": svc if svc_mode < 2 else None, "seq": "e2e-%d" % i})
    return recs


def expected_line(r, header_service):
    svc = r["service"] or header_service or "default"
    # message: the original JSON string text (json.dumps(ensure_ascii=False) both ways)
    s = '{"timestamp":"%s","level":"%s","service":%s,"message":%s' % (
        r["ts"], r["level"], cltest.jstr(svc), json.dumps(r["message"], ensure_ascii=False))
    return s + ("," + r["others"] if r["others"] else "") + "}"


class ProcessE2E(cltest.DaemonTestCase):
    def test_mixed_dataset_is_stored_exactly_in_its_partitions(self):
        seed = int(os.environ.get("CL_E2E_SEED", str(int(time.time() * 1000) % 1000000)))
        print("CL_E2E_SEED=%d" % seed, flush=True)
        rng = random.Random(seed)
        recs = make_dataset(rng, 700)
        d = self.daemon(args=["--flush-age", "1s", "--processor-workers", "3"])

        expected = []
        i, forms = 0, collections.Counter()
        for _ in range(1000):
            if i >= len(recs):
                break
            n = 1 if rng.random() < 0.15 else rng.randint(2, 60)
            chunk = recs[i:i + n]
            i += len(chunk)
            header_svc = rng.choice([None, None, "hdr-svc", "Ops.2"])
            headers = {"X-Cloudlog-Service": header_svc} if header_svc else {}
            form = rng.choice(["array", "ndjson", "ndjson-crlf"] + (["single"] * 3 if len(chunk) == 1 else []))
            enc = rng.choice([None, "gzip"])
            forms[(form, enc)] += 1
            if form == "array":
                body, ctype = "[\n" + ",\n".join(r["text"] for r in chunk) + "\n]", "application/json"
            elif form == "single":
                body, ctype = chunk[0]["text"], "application/json"
            else:
                nl = "\r\n" if form == "ndjson-crlf" else "\n"
                body = nl.join(r["text"] for r in chunk) + nl
                ctype = "application/x-ndjson"
            resp = d.post_logs(body, content_type=ctype, encoding=enc, headers=headers)
            self.assertAccepted(resp, len(chunk))
            expected.extend(expected_line(r, header_svc) for r in chunk)
        self.assertEqual(i, len(recs))
        print("posted %d records: %s" % (len(expected), dict(forms)), flush=True)

        # The ingest side is already checked elsewhere; assert the premise anyway.
        want_parts = collections.Counter(cltest.partition_of_line(l) for l in expected)
        print("%d partitions, %d dates" % (len(want_parts), len({p[1] for p in want_parts})),
              flush=True)
        self.assertGreaterEqual(len({p[1] for p in want_parts}), 3)

        cltest.wait_drained(d.data_dir, timeout=90, dlq=0, daemon=d)
        got = cltest.check_store(self, d.data_dir)
        got_lines = collections.Counter(l for l, _ in got)
        dups = [l for l, c in got_lines.items() if c > 1]
        self.assertEqual(dups[:5], [], "%d lines stored more than once" % len(dups))
        want = collections.Counter(expected)
        missing = [l for l in want if l not in got_lines]
        extra = [l for l in got_lines if l not in want]
        self.assertEqual(missing[:5], [], "%d expected lines not stored (or stored differently)"
                         % len(missing))
        self.assertEqual(extra[:5], [], "%d stored lines not expected" % len(extra))
        self.assertEqual(collections.Counter(cltest.partition_of_line(l) for l, _ in got),
                         want_parts)
        # Catalog totals agree with what was posted.
        rows = cltest.catalog_rows(d.db_path)
        self.assertEqual(sum(r["records"] for r in rows), len(expected))
        print("%d objects" % len(rows), flush=True)
        if cltest.cli_has_command("status"):
            rc, out, err = cltest.run_cli(["status", "--data", d.data_dir, "--json"])
            self.assertEqual(rc, 0, err)
            st = json.loads(out)
            self.assertEqual(st["store"]["objects"], len(rows), st)
            self.assertEqual(st["store"]["records"], len(expected), st)
            self.assertEqual(st["queue"]["visible"] + st["queue"]["inflight"], 0, st)
            self.assertEqual(st["dlq"]["depth"], 0, st)

        d.stop()
        _, staging, _ = cltest.store_scan(d.data_dir)
        self.assertEqual(staging, [], "staging files after a clean stop")
        # A restart on the drained directory adds nothing and removes nothing.
        d2 = self.daemon(data_dir=d.data_dir, args=["--flush-age", "1s"])
        time.sleep(1.5)
        cltest.wait_drained(d2.data_dir, timeout=30, dlq=0, daemon=d2)
        again = cltest.check_store(self, d2.data_dir)
        self.assertEqual(collections.Counter(l for l, _ in again), got_lines)
        d2.stop()


if __name__ == "__main__":
    cltest.main()
