"""Stored objects carry a member index (src/core/object_index.h, docs/pipeline.md "The
object's member index"): a first, empty gzip member whose extra field lists the data
members' segments. The real daemon writes a known data set (two services, records over
two hours posted in time order in many small requests, so each object holds many
members); then:

- every object starts with an index that checks out when parsed here independently
  (CRC-32 of the payload and of each segment's bytes, segments tiling the object, each segment's
  records, raw bytes, time span and levels as zlib finds them);
- every gzip reader still reads the object unchanged: `gzip -t`, `zcat`, Python's gzip
  module, and DuckDB's read_json over the store (tools/duckdb/query.mjs; skipped without
  it, failed without it when CI=true);
- a 15-minute query returns exactly the records a full read of the store finds in those
  15 minutes, scanning fewer records than the objects hold (segments skipped by their
  offset), and the same with the index damaged on disk (read whole, same answer);
- `cloudlog verify` finds nothing wrong with the index."""

import datetime
import gzip
import json
import os
import struct
import subprocess
import unittest
import zlib

import cltest
import test_duckdb

UTC = datetime.timezone.utc
START_MS = int(datetime.datetime(2026, 5, 4, 10, 0, tzinfo=UTC).timestamp() * 1000)
SPAN_MS = 2 * 3600 * 1000
N_RECORDS = 2400
PER_POST = 40
SERVICES = ["checkout", "search"]
LEVELS = ["debug", "info", "warn", "error"]
WINDOW = ("2026-05-04T10:50:00.000Z", "2026-05-04T11:05:00.000Z")
CI = os.environ.get("CI") == "true"


def uvarint(b, i):
    v, shift = 0, 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if c < 0x80:
            return v, i
        shift += 7


def parse_index(data):
    """(segments, data_off) of an object's index, asserting its framing and CRCs."""
    assert data[:4] == b"\x1f\x8b\x08\x04", "no leading FEXTRA member"
    xlen, = struct.unpack_from("<H", data, 10)
    assert data[12:14] == b"CO", "first subfield is not the object index"
    plen, = struct.unpack_from("<H", data, 14)
    assert plen + 4 == xlen
    p = data[16:16 + plen]
    start = 12 + xlen + 10
    assert data[start - 10:start] == b"\x03\x00" + b"\x00" * 8
    assert struct.unpack_from("<I", p, plen - 4)[0] == zlib.crc32(p[:-4]), "payload CRC"
    assert p[0] == 1, "version"
    n, i = uvarint(p, 2)
    segs, at = [], start
    for _ in range(n):
        s = {"off": at}
        s["gz_len"], i = uvarint(p, i)
        s["crc"], = struct.unpack_from("<I", p, i)
        i += 4
        assert s["crc"] == zlib.crc32(data[at:at + s["gz_len"]]), "segment CRC"
        s["raw_len"], i = uvarint(p, i)
        s["records"], i = uvarint(p, i)
        s["known"] = p[i]
        i += 1
        if s["known"]:
            zz, i = uvarint(p, i)
            span, i = uvarint(p, i)
            s["min"] = (zz >> 1) ^ -(zz & 1)
            s["max"] = s["min"] + span
            s["levels"] = []
            for _ in range(6):
                c, i = uvarint(p, i)
                s["levels"].append(c)
        segs.append(s)
        at += s["gz_len"]
    assert i == plen - 4, "payload has trailing bytes"
    assert at == len(data), "segments do not tile the object"
    return segs, start


def inflate_members(data):
    """The content of concatenated gzip members, one zlib stream at a time."""
    out = b""
    while data:
        z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out += z.decompress(data)
        assert z.eof, "truncated member"
        data = z.unused_data
    return out


LEVEL_NO = {"trace": 0, "debug": 1, "info": 2, "warn": 3, "error": 4, "fatal": 5}


class ObjectIndex(unittest.TestCase):
    daemon = None

    @classmethod
    def setUpClass(cls):
        d = cltest.Daemon(args=["--flush-age", "60s"])
        cls.daemon = d
        try:
            d.start()
            cls.accepted = 0
            for k in range(0, N_RECORDS, PER_POST):
                lines = []
                for i in range(k, k + PER_POST):
                    ms = START_MS + i * SPAN_MS // N_RECORDS
                    rec = {"timestamp": cltest.ms_text(ms), "level": LEVELS[i % 4],
                           "service": SERVICES[i % 2], "message": "event %d" % i, "seq": i}
                    lines.append(json.dumps(rec))
                st, _, js = d.post_logs("\n".join(lines) + "\n",
                                        content_type="application/x-ndjson")
                if st != 202 or js.get("rejected") != 0:
                    raise AssertionError("POST answered %s %r" % (st, js))
                cls.accepted += js["accepted"]
            cltest.wait_drained(d.data_dir, timeout=90, dlq=0, daemon=d)
            d.stop()
            cls.objects, _, strays = cltest.store_scan(d.data_dir)
            if strays or not cls.objects:
                raise AssertionError("store: %d objects, strays %r" % (len(cls.objects), strays))
        except BaseException:
            d.kill()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.daemon is not None and cls.daemon.alive():
            cls.daemon.kill()

    def read(self, o):
        with open(o["path"], "rb") as f:
            return f.read()

    def test_a_index_agrees_with_members(self):
        self.assertEqual(self.accepted, N_RECORDS)
        many = 0
        for o in self.objects:
            data = self.read(o)
            segs, _ = parse_index(data)
            many += len(segs) > 5
            for s in segs:
                raw = inflate_members(data[s["off"]:s["off"] + s["gz_len"]])
                lines = raw.decode().splitlines()
                self.assertEqual(len(raw), s["raw_len"])
                self.assertEqual(len(lines), s["records"])
                if s["raw_len"] == 0:  # an empty member appended for DuckDB's reader
                    self.assertEqual((s["records"], s["known"]), (0, 0))
                    continue
                self.assertEqual(s["known"], 1, "the daemon knows every member's span")
                ts = [cltest.ts_ms(json.loads(l)["timestamp"]) for l in lines]
                self.assertEqual((min(ts), max(ts)), (s["min"], s["max"]))
                levels = [0] * 6
                for l in lines:
                    levels[LEVEL_NO[json.loads(l)["level"]]] += 1
                self.assertEqual(levels, s["levels"])
        self.assertGreater(many, 0, "no object of more than 5 segments")

    def test_b_gzip_readers_unchanged(self):
        total = 0
        for o in self.objects:
            subprocess.run(["gzip", "-t", o["path"]], check=True, timeout=60)
            zc = subprocess.run(["zcat", o["path"]], check=True, capture_output=True,
                                timeout=60).stdout
            with gzip.open(o["path"], "rb") as f:
                py = f.read()
            self.assertEqual(zc, py)
            self.assertEqual(py, inflate_members(self.read(o)))
            total += py.count(b"\n")
        self.assertEqual(total, N_RECORDS)

    def test_c_duckdb_reads_indexed_objects(self):
        why = test_duckdb.duckdb_missing()
        if why:
            if CI:
                self.fail("CI=true and DuckDB not installed: " + why)
            self.skipTest("DuckDB not installed: " + why)
        store = cltest.store_dir(self.daemon.data_dir)
        rows = test_duckdb.query(store, "SELECT service, count(*) AS n, min(seq) AS lo,"
                                        " max(seq) AS hi FROM logs GROUP BY ALL ORDER BY ALL")
        self.assertEqual(rows, [{"service": s, "n": N_RECORDS // 2, "lo": k,
                                 "hi": N_RECORDS - 2 + k} for k, s in enumerate(SERVICES)])

    def full_read_window(self):
        lo, hi = (cltest.ts_ms(t) for t in WINDOW)
        want = []
        for o in self.objects:
            for line in cltest.object_lines(o["path"]):
                if lo <= cltest.ts_ms(json.loads(line)["timestamp"]) < hi:
                    want.append(line)
        return sorted(want)

    def query_window(self):
        rc, out, err = cltest.run_cli(["query", "--data", self.daemon.data_dir, "--from",
                                       WINDOW[0], "--to", WINDOW[1], "--limit", "0",
                                       "--order", "oldest", "--stats"])
        self.assertEqual(rc, 0, err)
        scanned = int(err.split("records  ")[1].split(" scanned")[0])
        return sorted(out.splitlines()), scanned

    def test_d_fifteen_minutes_as_a_full_read(self):
        want = self.full_read_window()
        self.assertEqual(len(want), N_RECORDS // 8)  # 15 of 120 minutes
        got, scanned = self.query_window()
        self.assertEqual(got, want)
        # the objects of hours 10 and 11 hold every record; the index skips most of them
        self.assertLess(scanned, N_RECORDS // 2)

    def test_e_damaged_index_same_answer(self):
        want = self.full_read_window()
        saved = {}
        try:
            for o in self.objects:
                data = bytearray(self.read(o))
                saved[o["path"]] = bytes(data)
                data[20] ^= 0xFF  # inside the payload: its CRC no longer holds
                with open(o["path"], "wb") as f:
                    f.write(data)
            got, scanned = self.query_window()
            self.assertEqual(got, want)
            self.assertGreaterEqual(scanned, N_RECORDS // 2)  # read whole
            rc, out, err = cltest.run_cli(["verify", "--data", self.daemon.data_dir])
            self.assertIn("object_index", out + err)
        finally:
            for path, data in saved.items():
                with open(path, "wb") as f:
                    f.write(data)

    def test_f_verify_clean(self):
        rc, out, err = cltest.run_cli(["verify", "--data", self.daemon.data_dir])
        self.assertEqual(rc, 0, out + err)
        self.assertNotIn("object_index", out + err)


if __name__ == "__main__":
    cltest.main()
