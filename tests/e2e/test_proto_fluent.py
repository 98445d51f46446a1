"""Fluent Bit's http output end to end (tests/clients/fluent_send.js): `format msgpack`
(Fluent Bit's event shapes encoded by @msgpack/msgpack, EventTime extension included) and
`format json_stream`, gzip-compressed, through POST /v1/logs into stored objects checked
field by field; a record over --max-record is rejected alone (cloudlog's 202 with its
index: Fluent Bit reads only the status); no key is refused."""

import json

import cltest
import shippers

K8S = {"pod_name": "web-1", "labels": {"app": "web"}}

# The stored records by message. "log" (tail's key) and "date" (json_stream's time key)
# are the normalizer's message and timestamp aliases, so both formats store the same
# records, but for the metadata of msgpack's [[time, metadata], record] shape.
EXPECTED = {
    "fluent tail line": {"timestamp": "2026-12-06T12:40:30.123Z", "level": "warn",
                         "service": "fluent-bit", "stream": "stdout", "kubernetes": K8S},
    "v2 shape": {"timestamp": "2026-12-06T12:40:31.000Z", "level": "info", "service": "fb-svc",
                 "n": 7},
    "integer time": {"timestamp": "2026-12-06T12:40:32.000Z", "level": "info",
                     "service": "fluent-bit"},
    "float time": {"timestamp": "2026-12-06T12:40:33.250Z", "level": "info",
                   "service": "fluent-bit", "ok": True},
}


class FluentBit(shippers.ClientTestCase):
    MODULE = "@msgpack/msgpack"

    def send(self, d, fmt, key=shippers.KEY, big=None):
        args = [self.url(d, "/v1/logs"), key, fmt] + ([big] if big else [])
        out = shippers.run_node("fluent_send.js", *args)
        return out["status"], json.loads(out["body"]) if out["body"] else None

    def check(self, fmt):
        d = self.start_daemon()
        st, js = self.send(d, fmt, big=8000)
        self.assertEqual(st, 202, js)
        self.assertEqual((js["accepted"], js["rejected"]), (4, 1), js)
        self.assertEqual(js["errors"][0]["index"], 4, js)
        self.assertIn("record too large", js["errors"][0]["error"])
        records = shippers.stored_records(d)
        self.assertEqual(len(records), 4, records)
        for rec in records:
            want = dict(EXPECTED[rec["message"]], message=rec["message"])
            if fmt == "msgpack" and rec["message"] == "v2 shape":
                want["source"] = "meta"
            self.assertEqual(rec, want)

    def test_msgpack_both_shapes(self):
        self.check("msgpack")

    def test_json_stream(self):
        self.check("json_stream")

    def test_no_key_refused(self):
        d = self.start_daemon()
        st, js = self.send(d, "msgpack", key="")
        self.assertEqual(st, 401, js)
        self.assertEqual(cltest.count_rows(d.db_path), 0)


if __name__ == "__main__":
    cltest.main()
