"""End-to-end tests of POST /v1/logs: body forms, aliases, normalization read back
from queue.db, per-record errors, status codes (400/404/405/415)."""

import gzip
import json
import time

import cltest

# These tests read the queue back; no processor may drain it.
cltest.ingest_only()
from cltest import norm_line, jstr

T = "2024-01-02T03:04:05.000Z"      # = 1704164645000 ms
T_IN = "2024-01-02T03:04:05Z"


class IngestApi(cltest.ClassDaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cltest.Daemon().start()

    # -- helpers -------------------------------------------------------------------
    def post_read(self, body, content_type="application/json", encoding=None, headers=None):
        """POSTs and returns (response triple, normalized lines stored by this request)."""
        before = self.max_id()
        resp = self.d.post_logs(body, content_type=content_type, encoding=encoding,
                                headers=headers)
        new = [m for m in self.d.messages() if m["id"] > before]
        for m in new:
            cltest.check_message_attrs(self, m)
        lines = [l for m in new for l in m["lines"]]
        return resp, lines

    def by_message(self, lines):
        out = {}
        for l in lines:
            out[json.loads(l)["message"]] = l
        return out

    # -- health ----------------------------------------------------------------------
    def test_health_endpoints(self):
        for path in ("/healthz", "/readyz"):
            st, _, _ = self.d.request("GET", path)
            self.assertEqual(st, 200, path)

    # -- body forms --------------------------------------------------------------------
    def test_single_object_exact_output(self):
        resp, lines = self.post_read(
            {"message": "hello", "timestamp": T_IN, "level": "warn", "service": "api"})
        self.assertAccepted(resp, 1)
        self.assertEqual(resp[2]["errors"], [])
        self.assertEqual(lines, [norm_line(T, "warn", "api", "hello")])

    def test_array_of_objects_keeps_order(self):
        recs = [{"message": "m%d" % i, "ts": T_IN, "service": "arr"} for i in range(5)]
        resp, lines = self.post_read(recs)
        self.assertAccepted(resp, 5)
        self.assertEqual(lines, [norm_line(T, "info", "arr", "m%d" % i) for i in range(5)])

    def test_ndjson_crlf_and_blank_lines(self):
        body = ('{"message":"a","ts":"%s"}\r\n'
                '\r\n'
                '{"message":"b","ts":"%s"}\n'
                '\n'
                '\n'
                '{"message":"c","ts":"%s"}\r\n') % (T_IN, T_IN, T_IN)
        resp, lines = self.post_read(body, content_type="application/x-ndjson")
        js = self.assertAccepted(resp, 3)
        self.assertEqual(js["errors"], [])
        self.assertEqual(lines, [norm_line(T, "info", "default", m) for m in "abc"])

    def test_ndjson_last_line_without_newline(self):
        body = '{"message":"x1","ts":"%s"}\n{"message":"x2","ts":"%s"}' % (T_IN, T_IN)
        resp, lines = self.post_read(body, content_type="application/x-ndjson")
        self.assertAccepted(resp, 2)
        self.assertEqual(lines, [norm_line(T, "info", "default", "x1"),
                                 norm_line(T, "info", "default", "x2")])

    def test_ndjson_whitespace_only_line_is_blank(self):
        body = '{"message":"w1","ts":"%s"}\n  \t \n{"message":"w2","ts":"%s"}\n' % (T_IN, T_IN)
        resp, lines = self.post_read(body, content_type="application/x-ndjson")
        self.assertAccepted(resp, 2)
        self.assertEqual(len(lines), 2)

    def test_pretty_printed_object_and_array(self):
        obj = {"message": "pretty", "ts": T_IN, "nested": {"a": [1, 2]}}
        resp, lines = self.post_read(json.dumps(obj, indent=2))
        self.assertAccepted(resp, 1)
        self.assertEqual(lines, [norm_line(T, "info", "default", "pretty", '"nested":{"a":[1,2]}')])
        arr = [{"message": "p%d" % i, "ts": T_IN} for i in range(3)]
        resp, lines = self.post_read(json.dumps(arr, indent=4))
        self.assertAccepted(resp, 3)
        self.assertEqual(lines, [norm_line(T, "info", "default", "p%d" % i) for i in range(3)])

    def test_gzip_bodies_same_output_as_plain(self):
        obj = {"message": "gz-obj", "ts": T_IN}
        arr = [{"message": "gz-arr%d" % i, "ts": T_IN} for i in range(3)]
        nd = "".join(json.dumps({"message": "gz-nd%d" % i, "ts": T_IN}) + "\n" for i in range(3))
        for body, ct, n in ((obj, "application/json", 1), (arr, "application/json", 3),
                            (nd, "application/x-ndjson", 3)):
            plain_resp, plain = self.post_read(body, content_type=ct)
            gz_resp, gz = self.post_read(body, content_type=ct, encoding="gzip")
            self.assertAccepted(plain_resp, n)
            self.assertAccepted(gz_resp, n)
            self.assertEqual(gz, plain)

    def test_gzip_with_identity_encoding_header(self):
        resp, lines = self.post_read({"message": "ident", "ts": T_IN}, encoding="identity")
        self.assertAccepted(resp, 1)
        self.assertEqual(lines, [norm_line(T, "info", "default", "ident")])

    # -- aliases -------------------------------------------------------------------------
    def test_message_aliases(self):
        body = "".join(json.dumps({k: "via-" + k, "ts": T_IN}) + "\n"
                       for k in ("message", "msg", "log"))
        resp, lines = self.post_read(body, content_type="application/x-ndjson")
        self.assertAccepted(resp, 3)
        self.assertEqual(lines, [norm_line(T, "info", "default", "via-" + k)
                                 for k in ("message", "msg", "log")])

    def test_timestamp_aliases(self):
        keys = ("timestamp", "time", "ts", "@timestamp", "date")
        body = "".join(json.dumps({"message": k, k: "2024-01-02T03:04:05.250Z"}) + "\n"
                       for k in keys)
        resp, lines = self.post_read(body, content_type="application/x-ndjson")
        self.assertAccepted(resp, len(keys))
        self.assertEqual(lines, [norm_line("2024-01-02T03:04:05.250Z", "info", "default", k)
                                 for k in keys])

    TS_CASES = [
        ('"2024-01-02T03:04:05Z"', "2024-01-02T03:04:05.000Z"),
        ('"2024-01-02T03:04:05.123Z"', "2024-01-02T03:04:05.123Z"),
        ('"2024-01-02T03:04:05.1Z"', "2024-01-02T03:04:05.100Z"),
        ('"2024-01-02T03:04:05.123456789Z"', "2024-01-02T03:04:05.123Z"),
        ('"2024-01-02T03:04:05.9999Z"', "2024-01-02T03:04:05.999Z"),
        ('"2024-01-02T03:04:05+00:00"', "2024-01-02T03:04:05.000Z"),
        ('"2024-01-02T05:04:05.5+02:00"', "2024-01-02T03:04:05.500Z"),
        ('"2024-01-01T21:34:05-05:30"', "2024-01-02T03:04:05.000Z"),
        ('"2023-12-31T23:59:59.999-01:00"', "2024-01-01T00:59:59.999Z"),
        ('"2024-02-29T12:00:00Z"', "2024-02-29T12:00:00.000Z"),
        ('1704164645', "2024-01-02T03:04:05.000Z"),           # seconds
        ('1704164645.5', "2024-01-02T03:04:05.500Z"),         # fractional seconds
        ('1704164645.123456', "2024-01-02T03:04:05.123Z"),    # Fluent Bit style
        ('1704164645123', "2024-01-02T03:04:05.123Z"),        # milliseconds
        ('1704164645123456', "2024-01-02T03:04:05.123Z"),     # microseconds
        ('1704164645123456789', "2024-01-02T03:04:05.123Z"),  # nanoseconds
    ]

    def test_timestamp_forms(self):
        body = "".join('{"message":"c%d","ts":%s}\n' % (i, v)
                       for i, (v, _) in enumerate(self.TS_CASES))
        resp, lines = self.post_read(body, content_type="application/x-ndjson")
        js = resp[2]
        self.assertEqual(resp[0], 202, js)
        self.assertEqual(js["errors"], [], "rejected timestamp forms: %r" % js)
        got = self.by_message(lines)
        for i, (v, exp) in enumerate(self.TS_CASES):
            self.assertEqual(got.get("c%d" % i), norm_line(exp, "info", "default", "c%d" % i),
                             "timestamp %s" % v)

    def test_timestamp_missing_uses_receive_time(self):
        t0 = int(time.time() * 1000)
        resp, lines = self.post_read({"message": "now"})
        t1 = int(time.time() * 1000)
        self.assertAccepted(resp, 1)
        ts = cltest.ts_ms(json.loads(lines[0])["timestamp"])
        self.assertTrue(t0 - 1000 <= ts <= t1 + 1000, (t0, ts, t1))

    def test_invalid_timestamp_rejected(self):
        body = ('{"message":"good","ts":"%s"}\n'
                '{"message":"bad1","ts":"yesterday"}\n'
                '{"message":"bad2","ts":"2024-13-45T99:00:00Z"}\n') % T_IN
        resp, lines = self.post_read(body, content_type="application/x-ndjson")
        js = self.assertAccepted(resp, 1, 2)
        self.assertEqual([(e["index"], e["line"]) for e in js["errors"]], [(1, 2), (2, 3)])
        self.assertEqual(lines, [norm_line(T, "info", "default", "good")])

    LEVEL_CASES = [
        ('"trace"', "trace"), ('"DEBUG"', "debug"), ('"Info"', "info"), ('"warn"', "warn"),
        ('"warning"', "warn"), ('"WARNING"', "warn"), ('"error"', "error"), ('"err"', "error"),
        ('"ERR"', "error"), ('"fatal"', "fatal"), ('"FATAL"', "fatal"),
        ('10', "trace"), ('20', "debug"), ('30', "info"), ('40', "warn"), ('50', "error"),
        ('60', "fatal"),
    ]

    def test_level_forms_and_aliases(self):
        lines_in = []
        for i, (v, _) in enumerate(self.LEVEL_CASES):
            key = ("level", "severity", "lvl")[i % 3]
            lines_in.append('{"message":"l%d","ts":"%s","%s":%s}\n' % (i, T_IN, key, v))
        resp, lines = self.post_read("".join(lines_in), content_type="application/x-ndjson")
        self.assertEqual(resp[0], 202, resp[2])
        self.assertEqual(resp[2]["errors"], [], "rejected level forms: %r" % resp[2])
        got = self.by_message(lines)
        for i, (v, exp) in enumerate(self.LEVEL_CASES):
            self.assertEqual(got.get("l%d" % i), norm_line(T, exp, "default", "l%d" % i),
                             "level %s" % v)

    def test_level_loose_aliases(self):
        # The contract names critical/notice as aliases without fixing their mapping.
        body = ('{"message":"crit","ts":"%s","level":"critical"}\n'
                '{"message":"note","ts":"%s","level":"notice"}\n') % (T_IN, T_IN)
        resp, lines = self.post_read(body, content_type="application/x-ndjson")
        self.assertAccepted(resp, 2)
        got = {json.loads(l)["message"]: json.loads(l)["level"] for l in lines}
        self.assertIn(got["crit"], ("error", "fatal"))
        self.assertIn(got["note"], ("info", "warn"))

    def test_level_missing_is_info(self):
        resp, lines = self.post_read({"message": "nolevel", "ts": T_IN})
        self.assertAccepted(resp, 1)
        self.assertEqual(json.loads(lines[0])["level"], "info")

    def test_unknown_level_rejected(self):
        body = ('{"message":"ok","ts":"%s"}\n{"message":"x","level":"loud"}\n') % T_IN
        resp, _ = self.post_read(body, content_type="application/x-ndjson")
        js = self.assertAccepted(resp, 1, 1)
        self.assertEqual([(e["index"], e["line"]) for e in js["errors"]], [(1, 2)])

    # -- service -------------------------------------------------------------------------
    def test_service_sources(self):
        body = ('{"message":"s1","ts":"%s","service":"svc-a"}\n'
                '{"message":"s2","ts":"%s","app":"app.b_1"}\n'
                '{"message":"s3","ts":"%s"}\n') % (T_IN, T_IN, T_IN)
        resp, lines = self.post_read(body, content_type="application/x-ndjson")
        self.assertAccepted(resp, 3)
        self.assertEqual(lines, [norm_line(T, "info", "svc-a", "s1"),
                                 norm_line(T, "info", "app.b_1", "s2"),
                                 norm_line(T, "info", "default", "s3")])
        # With the header: records without a service take it, records with one keep theirs.
        resp, lines = self.post_read(body, content_type="application/x-ndjson",
                                     headers={"X-Cloudlog-Service": "hdr-svc"})
        self.assertAccepted(resp, 3)
        self.assertEqual(lines, [norm_line(T, "info", "svc-a", "s1"),
                                 norm_line(T, "info", "app.b_1", "s2"),
                                 norm_line(T, "info", "hdr-svc", "s3")])

    def test_service_validation(self):
        ok64 = "s" * 64
        body = "".join(json.dumps(r) + "\n" for r in [
            {"message": "v0", "ts": T_IN, "service": ok64},
            {"message": "v1", "ts": T_IN, "service": "s" * 65},
            {"message": "v2", "ts": T_IN, "service": "bad service"},
            {"message": "v3", "ts": T_IN, "service": ""},
            {"message": "v4", "ts": T_IN, "service": "a/b"},
            {"message": "v5", "ts": T_IN, "service": "A-z.0_9"},
        ])
        resp, lines = self.post_read(body, content_type="application/x-ndjson")
        js = self.assertAccepted(resp, 2, 4)
        self.assertEqual([(e["index"], e["line"]) for e in js["errors"]],
                         [(1, 2), (2, 3), (3, 4), (4, 5)])
        self.assertEqual(lines, [norm_line(T, "info", ok64, "v0"),
                                 norm_line(T, "info", "A-z.0_9", "v5")])

    def test_invalid_service_header_400(self):
        before = self.max_id()
        st, _, js = self.d.post_logs({"message": "x"}, headers={"X-Cloudlog-Service": "bad svc!"})
        self.assertEqual(st, 400, js)
        self.assertIsInstance(js, dict)
        self.assertIn("error", js)
        self.assertNothingStored(before)

    # -- other fields, escapes -------------------------------------------------------------
    def test_other_fields_kept_in_order_compact(self):
        body = ('{"first": 1, "msg" : "m", "b": {"c": [1, 2, {"d": null}]}, "ts": "%s",'
                ' "z": "a b  c", "lvl": "error", "t": true, "f": false, "n": -3.25,'
                ' "app": "svc", "e": {}, "ea": []}') % T_IN
        resp, lines = self.post_read(body)
        self.assertAccepted(resp, 1)
        self.assertEqual(lines, [norm_line(
            T, "error", "svc", "m",
            '"first":1,"b":{"c":[1,2,{"d":null}]},"z":"a b  c","t":true,"f":false,'
            '"n":-3.25,"e":{},"ea":[]')])

    def test_unicode_and_escapes_preserved(self):
        raw_msgs = ['quote " backslash \\ newline \n tab \t end',
                    "héllo wörld 日本語 😀",
                    "ctrl \u0001 \u001f"]
        escaped_msgs = [('"caf\\u00e9 \\ud83d\\ude00 \\/ \\u0041"', "café 😀 / A"),
                        ('"nul \\u0000 inside"', "nul \u0000 inside")]
        recs = ['{"message":%s,"ts":"%s","k\\u00e9y":"v\\n"}' % (jstr(m), T_IN) for m in raw_msgs]
        recs += ['{"message":%s,"ts":"%s"}' % (e, T_IN) for e, _ in escaped_msgs]
        resp, lines = self.post_read("\n".join(recs) + "\n", content_type="application/x-ndjson")
        self.assertAccepted(resp, len(recs))
        parsed = [json.loads(l) for l in lines]
        self.assertEqual([p["message"] for p in parsed],
                         raw_msgs + [v for _, v in escaped_msgs])
        for p in parsed[:len(raw_msgs)]:
            self.assertEqual(p["k\u00e9y"], "v\n")
        # Raw UTF-8 and the short escapes come out byte for byte.
        for l, m in zip(lines, raw_msgs[:2]):
            self.assertIn('"message":%s' % jstr(m), l)

    def test_utf8_body_with_charset_and_bom_free(self):
        resp, lines = self.post_read("{\"message\":\"ünï\",\"ts\":\"%s\"}" % T_IN,
                                     content_type="application/json; charset=utf-8")
        self.assertAccepted(resp, 1)
        self.assertEqual(lines, [norm_line(T, "info", "default", "ünï")])

    # -- per-record errors -------------------------------------------------------------------
    def test_mixed_valid_invalid_ndjson_exact_errors(self):
        body = ('{"message":"ok0","ts":"%s"}\r\n'        # line 1, index 0
                '\r\n'                                     # line 2 blank
                '{"message": broken\r\n'                   # line 3, index 1: bad JSON
                '42\n'                                     # line 4, index 2: not an object
                '{"message":"ok3","service":"bad service"}\n'  # line 5, index 3: bad service
                '\n'                                       # line 6 blank
                '{"message":"ok4","ts":"%s"}\n'            # line 7, index 4
                '["a"]\n'                                  # line 8, index 5: not an object
                '{"message":"ok6","ts":"%s"}'              # line 9, index 6, no newline
                ) % (T_IN, T_IN, T_IN)
        resp, lines = self.post_read(body, content_type="application/x-ndjson")
        js = self.assertAccepted(resp, 3, 4)
        self.assertEqual([(e["index"], e["line"]) for e in js["errors"]],
                         [(1, 3), (2, 4), (3, 5), (5, 8)])
        for e in js["errors"]:
            self.assertIsInstance(e["error"], str)
            self.assertTrue(e["error"].strip(), e)
        self.assertEqual(lines, [norm_line(T, "info", "default", m) for m in ("ok0", "ok4", "ok6")])

    def test_ndjson_leading_invalid_lines_do_not_block_valid_records(self):
        # "Bad input never blocks good input in the same request" (design.md): an NDJSON
        # body whose first lines are garbage still accepts the valid lines after them.
        body = 'not json\n42\n{"message":"after","ts":"%s"}\n' % T_IN
        resp, lines = self.post_read(body, content_type="application/x-ndjson")
        js = self.assertAccepted(resp, 1, 2)
        self.assertEqual([(e["index"], e["line"]) for e in js["errors"]], [(0, 1), (1, 2)])
        self.assertEqual(lines, [norm_line(T, "info", "default", "after")])

    def test_mixed_array_errors(self):
        body = ('[\n'
                '  {"message":"a","ts":"%s"},\n'           # line 2, index 0
                '  42,\n'                                  # line 3, index 1
                '  {"message":"b","service":"bad svc"},\n'  # line 4, index 2
                '  {"message":"c","ts":"%s"}\n'            # line 5, index 3
                ']\n') % (T_IN, T_IN)
        resp, lines = self.post_read(body)
        js = self.assertAccepted(resp, 2, 2)
        self.assertEqual([e["index"] for e in js["errors"]], [1, 2])
        for e, line in zip(js["errors"], (3, 4)):
            if "line" in e:
                self.assertEqual(e["line"], line, e)
            self.assertTrue(e["error"], e)
        self.assertEqual(lines, [norm_line(T, "info", "default", "a"),
                                 norm_line(T, "info", "default", "c")])

    def test_record_without_message_rejected(self):
        body = '{"message":"has","ts":"%s"}\n{"nomessage":1,"ts":"%s"}\n' % (T_IN, T_IN)
        resp, _ = self.post_read(body, content_type="application/x-ndjson")
        js = self.assertAccepted(resp, 1, 1)
        self.assertEqual([(e["index"], e["line"]) for e in js["errors"]], [(1, 2)])

    # -- whole-body errors ---------------------------------------------------------------------
    def test_400_bodies_store_nothing(self):
        cases = [
            ("", "application/json"),
            ("{not json", "application/json"),
            ("[]", "application/json"),
            ("[1, 2, 3]", "application/json"),
            ('["a", null]', "application/json"),
            ("42", "application/json"),
            ('"just a string"', "application/json"),
            ('[{"message":"a"}', "application/json"),              # truncated array
            ("garbage\nmore garbage\n", "application/x-ndjson"),   # no valid record
            ('{"message":"x","service":"bad svc"}', "application/json"),
            ("\n\n\n", "application/x-ndjson"),
        ]
        for body, ct in cases:
            with self.subTest(body=body):
                before = self.max_id()
                st, _, js = self.d.post_logs(body, content_type=ct)
                self.assertEqual(st, 400, "body %r -> %s %r" % (body, st, js))
                self.assertIsInstance(js, dict, js)
                self.assertIsInstance(js.get("error"), str, js)
                self.assertNothingStored(before)

    # -- content type / encoding ---------------------------------------------------------------
    def test_allowed_content_types(self):
        for ct in ("application/json", "application/x-ndjson", "application/ndjson",
                   "application/jsonl", "application/x-jsonlines",
                   "application/json; charset=utf-8", "application/x-ndjson;charset=UTF-8"):
            with self.subTest(ct=ct):
                resp, lines = self.post_read({"message": "ct " + ct, "ts": T_IN}, content_type=ct)
                self.assertAccepted(resp, 1)
                self.assertEqual(lines, [norm_line(T, "info", "default", "ct " + ct)])

    def test_content_type_case_insensitive(self):
        resp, _ = self.post_read({"message": "case", "ts": T_IN}, content_type="Application/JSON")
        self.assertAccepted(resp, 1)

    def test_415_content_types(self):
        for ct in ("application/xml", "text/html", "multipart/form-data; boundary=x",
                   "application/x-www-form-urlencoded", "application/jsonx", "image/png",
                   "text/plain", "text/plain; charset=utf-8"):  # CORS-simple: issue 13 item 8
            with self.subTest(ct=ct):
                before = self.max_id()
                st, _, js = self.d.post_logs({"message": "x"}, content_type=ct)
                self.assertEqual(st, 415, "%s -> %s %r" % (ct, st, js))
                self.assertNothingStored(before)

    def test_415_content_encodings(self):
        for enc in ("br", "deflate", "compress", "zstd", "gzip, br"):
            with self.subTest(enc=enc):
                before = self.max_id()
                st, _, js = self.d.post_logs({"message": "x"}, encoding=enc)
                self.assertEqual(st, 415, "%s -> %s %r" % (enc, st, js))
                self.assertNothingStored(before)

    def test_corrupt_gzip_400(self):
        good = gzip.compress(b'{"message":"x"}')
        for name, body in (("plain body labelled gzip", b'{"message":"x"}'),
                           ("truncated", good[:len(good) // 2]),
                           ("bad crc", good[:-8] + b"\0\0\0\0" + good[-4:]),
                           ("garbage", b"\x1f\x8b\x08\x00garbagegarbage")):
            with self.subTest(name=name):
                before = self.max_id()
                st, _, js = self.d.post_logs(body, headers={"Content-Encoding": "gzip"})
                self.assertEqual(st, 400, "%s -> %s %r" % (name, st, js))
                self.assertNothingStored(before)

    # -- routing -------------------------------------------------------------------------------
    def test_404_unknown_paths(self):
        for method, path in (("GET", "/nope"), ("POST", "/v1/logsx"), ("POST", "/v2/logs"),
                             ("POST", "/v1/logs/extra"), ("GET", "/healthz/x")):
            with self.subTest(path=path):
                st, _, _ = self.d.request(method, path, body=b"{}" if method == "POST" else None)
                self.assertEqual(st, 404, "%s %s" % (method, path))

    def test_405_wrong_method_with_allow(self):
        for method, path, allowed in (("GET", "/v1/logs", "POST"), ("PUT", "/v1/logs", "POST"),
                                      ("DELETE", "/v1/logs", "POST"),
                                      ("POST", "/healthz", "GET"), ("POST", "/readyz", "GET")):
            with self.subTest(method=method, path=path):
                st, hd, _ = self.d.request(method, path,
                                           body=b"{}" if method in ("POST", "PUT") else None)
                self.assertEqual(st, 405, "%s %s" % (method, path))
                self.assertIn("allow", hd)
                self.assertIn(allowed, [a.strip() for a in hd["allow"].split(",")])

    def test_keepalive_two_posts_one_connection(self):
        c = self.d.conn()
        try:
            for i in range(2):
                c.request("POST", "/v1/logs", body=json.dumps({"message": "ka%d" % i}),
                          headers={"Content-Type": "application/json"})
                r = c.getresponse()
                js = json.loads(r.read())
                self.assertEqual(r.status, 202, js)
                self.assertEqual(js["accepted"], 1)
        finally:
            c.close()

    def test_response_is_json(self):
        st, hd, js = self.d.post_logs({"message": "ctype"})
        self.assertEqual(st, 202)
        self.assertTrue(hd.get("content-type", "").startswith("application/json"), hd)
        self.assertEqual(js, {"accepted": 1, "rejected": 0, "errors": []})

    def test_zz_queue_rows_consistent_and_dlq_empty(self):
        msgs = self.d.messages()
        self.assertTrue(msgs)
        for m in msgs:
            cltest.check_message_attrs(self, m)
            for l in m["lines"]:
                p = cltest.pairs(l)
                self.assertEqual([k for k, _ in p[:4]], ["timestamp", "level", "service", "message"])
        self.assertEqual(cltest.count_rows(self.d.db_path, "dlq"), 0)


if __name__ == "__main__":
    cltest.main()
