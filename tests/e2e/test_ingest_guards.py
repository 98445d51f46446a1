"""Ingest and HTTP guards from issue 13, each reproduced against the real daemon:

- item 2: 2,000 records with years 1, 5, 9, ... are rejected one by one (timestamp window),
  not stored as 2,004 objects; records spread over many hours are split into queue
  messages of at most --max-message-partitions partitions.
- item 10: 30,000 rejected records with --max-errors 100000 answer valid JSON.
- item 8: without API keys only loopback Host names are answered (DNS rebinding), and
  CORS-simple content types (a cross-site form POST) are refused with 415.
- item 9: a key longer than 1 KiB stops start-up; idle connections announcing large
  bodies do not exhaust --max-inflight and are closed by --connection-timeout; error
  JSON stays valid whatever bytes a client sends; webhook URLs are logged redacted.
"""

import http.server
import json
import os
import socket
import threading
import time

import cltest

WINDOW = {"CLOUDLOG_MAX_RECORD_AGE": "7d", "CLOUDLOG_MAX_RECORD_FUTURE": "10m"}


def iso(ms):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + ".%03dZ" % (ms % 1000)


class TimeWindow(cltest.DaemonTestCase):
    def test_year_fanout_is_rejected(self):
        """The issue's reproduction: an 80 KB NDJSON body of 2,000 records, years 1, 5,
        9, ... made 2,004 objects. Now each is rejected with its index, line and reason,
        and only the current records are stored."""
        d = self.daemon(args=["--max-errors", "5000", "--flush-age", "200ms"], env=WINDOW)
        now_ms = int(time.time() * 1000)
        # years 1, 5, 9, ..., 7997: none is within a week of now
        lines = [json.dumps({"message": "y%d" % (1 + 4 * i),
                             "ts": "%04d-06-15T12:00:00Z" % (1 + 4 * i)}) for i in range(2000)]
        lines += [json.dumps({"message": "now %d" % i, "ts": iso(now_ms - i)}) for i in range(4)]
        lines.append(json.dumps({"message": "ahead", "ts": iso(now_ms + 3600 * 1000)}))
        body = "\n".join(lines) + "\n"
        self.assertGreater(len(body), 80000)
        st, _, js = d.post_logs(body, content_type="application/x-ndjson")
        self.assertEqual(st, 202, js)
        self.assertEqual(js["accepted"], 4, js["errors"][:3])
        self.assertEqual(js["rejected"], 2001)
        self.assertEqual(len(js["errors"]), 2001)
        first = js["errors"][0]
        self.assertEqual(first, {"index": 0, "line": 1, "error":
                                 "timestamp 0001-06-15T12:00:00.000Z is more than 7d in the "
                                 "past (max record age)"})
        last = js["errors"][-1]
        self.assertEqual((last["index"], last["line"]), (2004, 2005))
        self.assertIn("is more than 10m in the future (max record future)", last["error"])
        cltest.wait_drained(d.data_dir, timeout=60, daemon=d)
        objs, _, _ = cltest.store_scan(d.data_dir)
        self.assertLessEqual(len(objs), 2, [o["key"] for o in objs])
        stored = sum(len(cltest.object_lines(o["path"])) for o in objs)
        self.assertEqual(stored, 4)

    def test_window_options(self):
        """--max-record-age / --max-record-future (and their CLOUDLOG_* variables) move the
        window; 0 turns a side off."""
        d = self.daemon(args=["--max-record-age", "1h", "--max-record-future", "0"])
        now_ms = int(time.time() * 1000)
        recs = [{"message": "old", "ts": now_ms - 2 * 3600 * 1000},
                {"message": "far ahead", "ts": now_ms + 365 * 86400 * 1000},
                {"message": "now", "ts": now_ms}]
        st, _, js = d.post_logs(recs)
        self.assertEqual(st, 202, js)
        self.assertEqual((js["accepted"], js["rejected"]), (2, 1), js)
        self.assertIn("is more than 1h in the past", js["errors"][0]["error"])
        rc, out = cltest.expect_refusal(["serve", "--listen", "127.0.0.1:0", "--data",
                                         cltest.mkdtemp(), "--max-record-age", "soon"])
        self.assertNotEqual(rc, 0)
        self.assertIn("--max-record-age", out)

    def test_partitions_per_message(self):
        """Records over 200 hours (window off) are split into messages of at most
        --max-message-partitions distinct partitions."""
        d = self.daemon(args=["--max-message-partitions", "50"],
                        env={"CLOUDLOG_NO_PROCESSOR": "1"})
        base = 1764000000000
        recs = [{"message": "m%d" % i, "ts": base + i * 3600 * 1000} for i in range(200)]
        self.assertAccepted(d.post_logs(recs), 200)
        msgs = cltest.read_messages(d.db_path)
        self.assertEqual(len(msgs), 4)
        for m in msgs:
            hours = {json.loads(l)["timestamp"][:13] for l in m["lines"]}
            self.assertLessEqual(len(hours), 50)


class ResponseLimits(cltest.DaemonTestCase):
    def test_30000_rejections_answer_valid_json(self):
        """With --max-errors 100000 the errors list of 30,000 rejected records overflowed
        the response buffer and the answer ended in "errors":}. Now it is valid JSON, lists
        what fits, and says the list is cut short."""
        d = self.daemon(args=["--max-errors", "100000"])
        # each reason quotes the level as written; its escaped quotes double when listed
        body = "".join('{"message":"m","level":"%s%d"}\n' % ('\\"' * 40, i)
                       for i in range(30000))
        body += '{"message":"ok"}\n'
        st, _, js = d.post_logs(body, content_type="application/x-ndjson")
        self.assertIsInstance(js, dict, "not JSON: %r" % (js if isinstance(js, dict) else js[-200:],))
        self.assertEqual(st, 202, js["error"] if "error" in js else "")
        self.assertEqual((js["accepted"], js["rejected"]), (1, 30000))
        self.assertTrue(js["errors_truncated"])
        self.assertGreater(len(js["errors"]), 10000)
        self.assertLess(len(js["errors"]), 30000)
        self.assertEqual(js["errors"][0]["index"], 0)

    def test_error_json_with_invalid_utf8(self):
        """Bytes that are not UTF-8 (JSONTestSuite's invalid strings) in a header or a
        record that the answer quotes come back as U+FFFD: the answer is valid JSON."""
        d = self.daemon()
        bad = [b"\x80", b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x82"]
        for b in bad:
            with self.subTest(bytes=b):
                st, hd, data = d.raw(b"POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                     b"Content-Type: application/x" + b + b"\r\n"
                                     b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
                self.assertEqual(st, 415)
                js = json.loads(data.decode("utf-8"))  # strict: fails on invalid UTF-8
                self.assertIn("\ufffd", js["error"])
                rec = b'{"message":"m","level":"x' + b + b'"}\n{"message":"ok"}\n'
                st, hd, data = d.raw(b"POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                     b"Content-Type: application/x-ndjson\r\nContent-Length: "
                                     + str(len(rec)).encode() + b"\r\nConnection: close\r\n\r\n"
                                     + rec)
                self.assertEqual(st, 202, data)
                json.loads(data.decode("utf-8"))


class BrowserGuards(cltest.DaemonTestCase):
    def get(self, d, path, host):
        return d.raw(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
                      % (path, host)).encode())

    def test_rebinding_host_refused_without_keys(self):
        d = self.daemon()
        st, _, data = self.get(d, "/v1/query?limit=1", "rebind.evil.example:%d" % d.port)
        self.assertEqual(st, 421, data)
        self.assertIn("DNS rebinding", json.loads(data)["error"])
        st, _, js = d.post_logs({"message": "x"}, headers={"Host": "rebind.evil.example"})
        self.assertEqual(st, 421, js)
        for host in ("127.0.0.1:%d" % d.port, "localhost:%d" % d.port, "localhost",
                     "127.0.0.2", "[::1]:%d" % d.port):
            with self.subTest(host=host):
                st, _, data = self.get(d, "/healthz", host)
                self.assertEqual(st, 200, data)
        self.assertAccepted(d.post_logs({"message": "y"}, headers={"Host": "localhost"}), 1)

    def test_any_host_with_keys(self):
        keys = os.path.join(cltest.mkdtemp(), "keys")
        with open(keys, "w") as f:
            f.write("k1\n")
        d = self.daemon(args=["--api-key-file", keys])
        self.assertAccepted(d.post_logs({"message": "x"}, headers={
            "Host": "logs.example", "Authorization": "Bearer k1"}), 1)

    def test_cors_simple_content_types_refused(self):
        d = self.daemon()
        for ct in ("text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded",
                   "multipart/form-data; boundary=x"):
            with self.subTest(ct=ct):
                st, _, js = d.post_logs({"message": "x"}, content_type=ct,
                                        headers={"Origin": "https://evil.example"})
                self.assertEqual(st, 415, js)
                self.assertIn("browsers send it cross-site", js["error"])
        st, _, js = d.post_logs({"message": "x"}, content_type=None,
                                headers={"Origin": "https://evil.example"})
        self.assertEqual(st, 415, js)
        self.assertIn("cross-site", js["error"])
        # shippers: no Origin, no Content-Type, or a JSON type
        self.assertAccepted(d.post_logs({"message": "x"}, content_type=None), 1)
        self.assertAccepted(d.post_logs({"message": "x"}, headers={"Origin": "null"}), 1)
        self.assertEqual(cltest.count_rows(d.db_path), 2)


class ConnectionLimits(cltest.DaemonTestCase):
    def test_long_api_key_stops_startup(self):
        """A 1,100-byte key was split in two, its tail alone accepted."""
        keys = os.path.join(cltest.mkdtemp(), "keys")
        with open(keys, "w") as f:
            f.write("a" * 1024 + "TAILXY" + "\n")
        rc, out = cltest.expect_refusal(["serve", "--listen", "127.0.0.1:0", "--data",
                                         cltest.mkdtemp(), "--api-key-file", keys])
        self.assertNotEqual(rc, 0)
        self.assertIn("line 1 is longer than 1024 bytes", out)

    def test_idle_bodies_do_not_exhaust_inflight(self):
        """26 connections announcing 10 MiB bodies and sending nothing reserved 260 MiB of
        the 256 MiB --max-inflight at once. Now bytes are reserved as they arrive, a
        normal request still gets 202, and the idle ones are closed by the timeout."""
        d = self.daemon(args=["--connection-timeout", "2s"])
        idle = []
        try:
            for _ in range(30):
                s = socket.create_connection((cltest.HOST, d.port), timeout=60)
                s.sendall(b"POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Content-Type: application/json\r\n"
                          b"Content-Length: 10485760\r\n\r\n{\"message\":")
                idle.append(s)
            time.sleep(0.3)  # let the daemon read every header
            self.assertAccepted(d.post_logs({"message": "still served"}), 1)
            for s in idle:  # closed by --connection-timeout: EOF (or a reset), bounded
                s.settimeout(60)
                try:
                    self.assertEqual(s.recv(65536), b"")
                except ConnectionResetError:
                    pass
        finally:
            for s in idle:
                s.close()
        self.assertAccepted(d.post_logs({"message": "after"}), 1)


class WebhookLog(cltest.DaemonTestCase):
    def test_webhook_url_redacted_in_log(self):
        got = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                got.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        port = srv.server_address[1]
        url = "http://user:hunter2@127.0.0.1:%d/services/T000/B000/SECRETTOKEN?k=v" % port
        cfg = os.path.join(cltest.mkdtemp(), "alarms.json")
        with open(cfg, "w") as f:
            json.dump({"Alarms": [{"AlarmName": "DLQNotEmpty", "Period": 1}]}, f)
        d = self.daemon(args=["--alarms-config", cfg, "--alarm-webhook", url])
        cltest.wait_for(lambda: "webhook" in d.log_text() and "delivered" in d.log_text(), 30,
                 "a webhook delivery logged", d)
        log = d.log_text()
        for secret in ("SECRETTOKEN", "hunter2", "/services/", "k=v"):
            self.assertNotIn(secret, log)
        self.assertIn("webhook http://127.0.0.1:%d/\u2026 delivered" % port, log)
        self.assertTrue(got)


if __name__ == "__main__":
    cltest.main()
