"""GET /loki/api/v1/tail (docs/loki.md "Live tail") driven by the real `ws` WebSocket
client (tests/clients/tail_ws.js): the newest `limit` records since `start`, then records
as they are published, in Loki's frames ({"streams":[{"stream":{...},"values":[["ns",
"line"]]}]}); the LogQL pipeline (filters, json, line_format); Loki's parameter errors;
API keys (header, or the WebSocket protocol a browser can send); cross-origin refusal;
--max-tails; ping/pong, close, an oversized client frame; and the daemon stopping."""

import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
import urllib.parse

import cltest
import shippers

KEY = "tail-key-1"


class TailClient:
    """node tail_ws.js in the background; its events are read by a thread into a queue."""

    def __init__(self, port, params, bearer="", proto_key="", origin="", ca=None):
        url = "%s://127.0.0.1:%d/loki/api/v1/tail?%s" % ("wss" if ca else "ws", port,
                                                          urllib.parse.urlencode(params))
        env = dict(os.environ, NODE_EXTRA_CA_CERTS=ca) if ca else None
        self.proc = subprocess.Popen(
            [shippers.NODE, os.path.join(shippers.CLIENTS, "tail_ws.js"), url, bearer,
             proto_key, origin],
            cwd=shippers.CLIENTS, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, env=env)
        self.events = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                self.events.put({"event": "junk", "line": line.decode("utf-8", "replace")})
        self.events.put({"event": "eof"})

    def next(self, kinds, timeout=30):
        """The next event whose kind is in kinds (others are kept in seen)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s event within %ss; seen %r" % (kinds, timeout, self.seen))
            try:
                ev = self.events.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(ev)
            if ev["event"] in kinds:
                return ev
            if ev["event"] == "eof":
                raise AssertionError("client ended before %s; seen %r" % (kinds, self.seen))

    def entries(self, n, timeout=40):
        """Reads frames until n entries arrived: [(labels, ns, line)]."""
        got = []
        deadline = time.monotonic() + timeout
        while len(got) < n:
            ev = self.next(("frame",), timeout=max(0.1, deadline - time.monotonic()))
            for s in ev["data"]["streams"]:
                for ts, line in s["values"]:
                    got.append((s["stream"], ts, line))
        return got

    def send(self, cmd):
        self.proc.stdin.write((cmd + "\n").encode())
        self.proc.stdin.flush()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def now_records(service, messages, level="info", **extra):
    t = time.time()
    out = []
    for i, m in enumerate(messages):
        r = {"timestamp": cltest.ms_text(int(t * 1000) + i), "service": service, "level": level,
             "message": m}
        r.update(extra)
        out.append(r)
    return out


class Tail(cltest.DaemonTestCase):
    ARGS = ["--flush-age", "1s"]

    @classmethod
    def setUpClass(cls):
        cls.skip_reason = shippers.client_missing("ws")

    def setUp(self):
        super().setUp()
        if self.skip_reason:
            if shippers.CI:
                self.fail("CI=true and " + self.skip_reason)
            self.skipTest(self.skip_reason)
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        super().tearDown()

    def client(self, d, params, **kw):
        c = TailClient(d.port, params, **kw)
        self.clients.append(c)
        return c

    def post(self, d, recs, headers=None):
        st, _, js = d.post_logs(recs, headers=headers or {})
        self.assertEqual(st, 202, js)

    def stored(self, d, n):
        cltest.wait_for(lambda: sum(len(x[1]) for x in cltest.stored_lines(d.data_dir)) >= n,
                        60, "%d stored records" % n, daemon=d)

    def test_history_then_live(self):
        d = self.daemon(args=self.ARGS)
        self.post(d, now_records("api", ["old %d" % i for i in range(5)]))
        self.post(d, now_records("web", ["other service"]))
        self.stored(d, 6)
        c = self.client(d, {"query": '{service="api"}', "limit": "3"})
        c.next(("open",))
        first = c.entries(3)
        self.assertEqual([e[2] for e in first][:3] and len(first), 3)
        lines = [json.loads(e[2])["message"] for e in first]
        self.assertEqual(lines, ["old 2", "old 3", "old 4"], "the newest 3, oldest first")
        for labels, ts, _ in first:
            self.assertEqual(labels, {"service": "api", "level": "info"})
            self.assertRegex(ts, r"^\d{19}$", "nanoseconds as a string")
        # Live: records published after the connection, each once, in order.
        self.post(d, now_records("api", ["live 1", "live 2"], level="error"))
        self.post(d, now_records("web", ["not for us"]))
        live = c.entries(2)
        self.assertEqual([json.loads(e[2])["message"] for e in live], ["live 1", "live 2"])
        self.assertEqual(live[0][0], {"service": "api", "level": "error"})
        self.assertNotIn("dropped_entries", c.seen[-1]["data"], "only when some were dropped")
        c.send("ping hello")
        self.assertEqual(c.next(("pong",))["data"], "hello")
        c.send("close")
        ev = c.next(("close",))
        self.assertEqual(ev["code"], 1000)

    def test_logql_pipeline(self):
        d = self.daemon(args=self.ARGS)
        self.post(d, now_records("api", ["boom one", "fine", "boom two"], user="ann"))
        self.stored(d, 3)
        q = '{service="api"} |= "boom" | json | line_format "{{.user}}: {{.message}}"'
        c = self.client(d, {"query": q, "limit": "10", "start": str(int((time.time() - 60) * 1e9))})
        got = c.entries(2)
        self.assertEqual([e[2] for e in got], ["ann: boom one", "ann: boom two"])
        # A label filter the engine cannot push down: the history is still the newest N
        # records that pass it.
        self.post(d, now_records("api", ["n %d" % i for i in range(6)], code=7))
        self.stored(d, 9)
        c2 = self.client(d, {"query": '{service="api"} | json | code == 7', "limit": "2"})
        got = c2.entries(2)
        self.assertEqual([json.loads(e[2])["message"] for e in got], ["n 4", "n 5"])

    def test_logcli_like(self):
        """The parameters logcli's --tail sends (query, delay_for, limit, start in ns), and
        start as RFC 3339: history, then live records held delay_for and sent sorted."""
        d = self.daemon(args=self.ARGS)
        self.post(d, now_records("api", ["h %d" % i for i in range(40)]))
        self.stored(d, 40)
        start_ns = str(int((time.time() - 3600) * 1e9))
        c = self.client(d, {"query": '{service="api"}', "delay_for": "1", "limit": "30",
                            "start": start_ns})
        hist = c.entries(30)
        self.assertEqual([json.loads(e[2])["message"] for e in hist],
                         ["h %d" % i for i in range(10, 40)])
        t = time.time()
        late, early = now_records("api", ["b"]), now_records("api", ["a"])
        early[0]["timestamp"] = cltest.ms_text(int(t * 1000) - 500)
        self.post(d, late)
        self.post(d, early)
        live = c.entries(2)
        self.assertEqual([json.loads(e[2])["message"] for e in live], ["a", "b"])
        rfc = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
        c2 = self.client(d, {"query": '{service="api"} |= "h 3"', "limit": "5", "start": rfc})
        self.assertEqual([json.loads(e[2])["message"] for e in c2.entries(5)],
                         ["h 35", "h 36", "h 37", "h 38", "h 39"])

    def test_parameter_errors(self):
        d = self.daemon(args=self.ARGS)
        cases = [
            ({"query": '{service="api"}', "delay_for": "6"}, "delay_for can't be greater than 5"),
            ({"query": '{service="api"}', "limit": "5001"}, "max entries limit"),
            ({"query": 'sum(rate({service="api"}[1m]))'}, "metric queries cannot be tailed"),
            ({"query": '{service="api"'}, "parse error"),
            ({}, "query is required"),
            ({"query": '{service="api"}', "start": "yesterday-ish"}, "invalid start"),
        ]
        for params, want in cases:
            c = self.client(d, params)
            ev = c.next(("unexpected", "open"))
            self.assertEqual(ev.get("status"), 400, (params, ev))
            self.assertIn(want, json.loads(ev["body"])["message"], params)
        # A plain GET is not a WebSocket handshake.
        st, _, body = d.request("GET", "/loki/api/v1/tail?query=%7Bservice%3D%22a%22%7D")
        self.assertEqual(st, 400)
        js = json.loads(body)
        self.assertEqual((js["code"], js["status"]), (400, "error"))
        self.assertIn("WebSocket", js["message"])

    def test_keys_and_origin(self):
        keys = cltest.write_key_file(KEY)
        d = self.daemon(args=self.ARGS + ["--api-key-file", keys])
        params = {"query": '{service="api"}'}
        ev = self.client(d, params).next(("unexpected", "open"))
        self.assertEqual(ev.get("status"), 401)
        ev = self.client(d, params, bearer="wrong").next(("unexpected", "open"))
        self.assertEqual(ev.get("status"), 401)
        self.client(d, params, bearer=KEY).next(("open",))
        # From a browser: the key as a WebSocket protocol (never echoed back).
        ev = self.client(d, params, proto_key=KEY).next(("open",))
        self.assertEqual(ev["protocol"], "cloudlog")
        ev = self.client(d, params, proto_key="wrong").next(("unexpected", "open"))
        self.assertEqual(ev.get("status"), 401)
        # Another site's page may not open it; the daemon's own page may.
        ev = self.client(d, params, bearer=KEY, origin="http://evil.example").next(
            ("unexpected", "open"))
        self.assertEqual(ev.get("status"), 403)
        self.client(d, params, bearer=KEY, origin="http://127.0.0.1:%d" % d.port).next(("open",))

    def test_max_tails_and_oversized_frame(self):
        d = self.daemon(args=self.ARGS + ["--max-tails", "1"])
        params = {"query": '{service="api"}'}
        a = self.client(d, params)
        a.next(("open",))
        ev = self.client(d, params).next(("unexpected", "open"))
        self.assertEqual(ev.get("status"), 503)
        self.assertIn("--max-tails", json.loads(ev["body"])["message"])
        # A client message over the limit ends the tail with 1009, freeing the slot.
        a.send("bigframe")
        self.assertEqual(a.next(("close",))["code"], 1009)
        cltest.wait_for(lambda: self._opens(d, params), 20, "a free tail slot", daemon=d)

    def _opens(self, d, params):
        c = self.client(d, params)
        return c.next(("unexpected", "open"))["event"] == "open"

    def test_over_tls(self):
        """wss://: with --tls-cert, libmicrohttpd hands the upgraded TLS stream over a
        socket pair; the frames are the same."""
        if not shutil.which("openssl"):
            self.skipTest("no openssl command")
        tmp = cltest.mkdtemp("cl-tail-tls-")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", "s.key", "-out", "s.crt",
                        "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1"], cwd=tmp, check=True, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        crt = os.path.join(tmp, "s.crt")
        d = self.daemon(args=self.ARGS + ["--tls-cert", crt, "--tls-key",
                                          os.path.join(tmp, "s.key")], start=False)
        d.start(wait_ready=False)  # its readiness probe speaks plain HTTP: as test_tls does
        m = cltest.wait_for(lambda: re.search(r"listening on https://127\.0\.0\.1:(\d+)",
                                              d.log_text()) or not d.alive(),
                            cltest.START_TIMEOUT, "'listening on https://'", daemon=d)
        self.assertTrue(d.alive(), d.log_tail())
        d.port = int(m.group(1))
        c = self.client(d, {"query": '{service="api"}'}, ca=crt)
        c.next(("open",))
        # Over TLS too, post through curl to the same TLS listener.
        body = json.dumps(now_records("api", ["secure"]))
        subprocess.run(["curl", "-sS", "--cacert", crt, "-H", "Content-Type: application/json",
                        "--data-binary", body, "https://127.0.0.1:%d/v1/logs" % d.port],
                       check=True, timeout=30, stdout=subprocess.DEVNULL)
        self.assertEqual(json.loads(c.entries(1)[0][2])["message"], "secure")
        c.send("ping tls")
        self.assertEqual(c.next(("pong",))["data"], "tls")

    def test_daemon_stop_ends_tails(self):
        d = self.daemon(args=self.ARGS)
        c = self.client(d, {"query": '{service="api"}'})
        c.next(("open",))
        d.stop()
        ev = c.next(("close",))
        self.assertEqual((ev["code"], ev["reason"]), (1001, "daemon stopping"))


if __name__ == "__main__":
    cltest.main()
