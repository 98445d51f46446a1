"""End-to-end tests of named API keys with per-key rate limits (429 with Retry-After in each
protocol's error shape, per-key counters in /metrics) and of reloading without a restart
(SIGHUP and `cloudlog reload`): a key and a TLS certificate are rotated while a client keeps
posting, and no request that should succeed fails; a bad key file or certificate keeps the
old settings."""

import json
import os
import shutil
import signal
import ssl
import subprocess
import threading
import time
import http.client
import unittest

import cltest
from test_tls import make_ca, make_cert, HTTPS_RE

cltest.ingest_only()

LOOP_MAX_REQUESTS = 3000
LOOP_MAX_SECONDS = 120


def reload_cli(d):
    return cltest.run_cli(["reload", "--data", d.data_dir, "--timeout", "30s"])


class PostLoop(threading.Thread):
    """Posts one record per request, on a new connection each time, with the key in
    self.key, until stopped (bounded in count and time); keeps every outcome."""

    def __init__(self, post):
        super().__init__(daemon=True)
        self.post = post
        self.key = None
        self.stop_ev = threading.Event()
        self.results = []  # (key, status or exception text)

    def run(self):
        deadline = time.monotonic() + LOOP_MAX_SECONDS
        for i in range(LOOP_MAX_REQUESTS):
            if self.stop_ev.is_set() or time.monotonic() > deadline:
                break
            key = self.key
            try:
                st = self.post(key, i)
            except Exception as e:  # noqa: BLE001 - every failure is an outcome to report
                st = repr(e)
            self.results.append((key, st))

    def count(self):
        return len(self.results)

    def finish(self, tc):
        self.stop_ev.set()
        self.join(LOOP_MAX_SECONDS + 30)
        bad = [r for r in self.results if r[1] != 202]
        tc.assertEqual(bad, [], "requests that should have succeeded failed")
        tc.assertGreater(len(self.results), 0)


KEYS = ("legacy-secret\n"
        "slow-secret name=slow records_per_s=0.01\n"
        "fast-secret name=fast bytes_per_s=100MiB\n")


class KeyLimits(cltest.ClassDaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cltest.Daemon(args=["--api-key-file", cltest.write_key_file(KEYS)]).start()
        # 20 records at 0.01 records/s: 'slow' is in debt for ~2000 s, far longer than the test.
        st, _, js = cls.d.post_logs([{"message": "m%d" % i} for i in range(20)],
                                    headers=cltest.bearer("slow-secret"))
        assert st == 202, (st, js)

    def test_429_native(self):
        st, hd, js = self.d.post_logs({"message": "x"}, headers=cltest.bearer("slow-secret"))
        self.assertEqual(st, 429, js)
        self.assertIn("API key 'slow' is over its rate limit", js["error"])
        self.assertGreaterEqual(int(hd["retry-after"]), 1000)
        # the other keys are not limited by it
        for key in ("legacy-secret", "fast-secret"):
            st, _, js = self.d.post_logs({"message": "x"}, headers=cltest.bearer(key))
            self.assertEqual(st, 202, js)

    def test_429_protocol_shapes(self):
        auth = {"Authorization": "Splunk slow-secret"}
        st, hd, js = self.d.post_logs({"event": "x"}, path="/services/collector/event",
                                      headers=auth)
        self.assertEqual((st, js.get("code"), js.get("text")), (429, 9, "Server is busy"), js)
        self.assertIn("retry-after", hd)
        st, hd, js = self.d.post_logs('{"index":{}}\n{"message":"x"}\n', path="/es/_bulk",
                                      content_type="application/x-ndjson",
                                      headers={"Authorization": "ApiKey slow-secret"})
        self.assertEqual(st, 429, js)
        self.assertEqual(js["error"]["type"], "es_rejected_execution_exception")
        self.assertEqual(js["status"], 429)
        self.assertEqual(hd.get("x-elastic-product"), "Elasticsearch")
        self.assertIn("retry-after", hd)
        body = {"streams": [{"stream": {"job": "t"}, "values": [["1", "x"]]}]}
        st, hd, data = self.d.post_logs(body, path="/loki/api/v1/push",
                                        headers=cltest.bearer("slow-secret"))
        self.assertEqual(st, 429)
        self.assertTrue(hd["content-type"].startswith("text/plain"), hd)
        self.assertIn(b"over its rate limit", data if isinstance(data, bytes) else b"")
        self.assertIn("retry-after", hd)

    def test_metrics_by_key_name(self):
        self.d.post_logs({"message": "y"}, headers=cltest.bearer("slow-secret"))
        st, _, data = self.d.request("GET", "/metrics", headers=cltest.bearer("legacy-secret"))
        self.assertEqual(st, 200)
        text = data.decode()
        self.assertIn('cloudlog_key_records_total{key="slow"} 20\n', text)
        self.assertRegex(text, r'cloudlog_key_throttled_total\{key="slow"\} [1-9]')
        self.assertNotIn("secret", text)


class KeyEmf(cltest.DaemonTestCase):
    def test_emf_per_key(self):
        dirp = cltest.mkdtemp("cl-keyemf-")
        keys, emf = os.path.join(dirp, "keys"), os.path.join(dirp, "emf.jsonl")
        cltest.write_file(keys, KEYS)
        d = self.daemon(args=["--api-key-file", keys, "--emf", emf, "--emf-interval", "1s"])
        for _ in range(3):
            st, _, _ = d.post_logs([{"message": "a"}, {"message": "b"}],
                                   headers=cltest.bearer("fast-secret"))
            self.assertEqual(st, 202)

        def key_docs():
            try:
                with open(emf) as f:
                    docs = [json.loads(line) for line in f if '"ApiKey"' in line]
            except OSError:
                return None
            return docs if sum(x["KeyRecords"] for x in docs) >= 6 else None
        docs = cltest.wait_for(key_docs, 60, "per-key EMF documents", daemon=d)
        for doc in docs:
            self.assertEqual(doc["ApiKey"], "fast")
            cw = doc["_aws"]["CloudWatchMetrics"][0]
            self.assertEqual(cw["Dimensions"], [["ApiKey"]])
            self.assertEqual({m["Name"] for m in cw["Metrics"]},
                             {"KeyRequests", "KeyThrottled", "KeyRecords", "KeyBytes"})
        self.assertEqual(sum(x["KeyRequests"] for x in docs), 3)
        with open(emf) as f:
            self.assertNotIn("secret", f.read())


class Reload(cltest.DaemonTestCase):
    def key_daemon(self, keys_text):
        dirp = cltest.mkdtemp("cl-reload-")
        path = os.path.join(dirp, "keys")
        cltest.write_file(path, keys_text)
        return self.daemon(args=["--api-key-file", path]), path

    def post_with(self, d):
        def post(key, i):
            st, _, _ = d.post_logs({"message": "loop %d" % i},
                                   headers=cltest.bearer(key))
            return st
        return post

    def test_rotate_key_under_load(self):
        d, path = self.key_daemon("old-secret name=app\n")
        loop = PostLoop(self.post_with(d))
        loop.key = "old-secret"
        loop.start()
        try:
            cltest.wait_for(lambda: loop.count() >= 5, 60, "posts with the old key", daemon=d)
            # step 1: both secrets valid (new name for the new secret)
            cltest.write_file(path, "old-secret name=app\nnew-secret name=app-2\n")
            rc, out, err = reload_cli(d)
            self.assertEqual(rc, 0, out + err)
            self.assertIn(": ok", out)
            loop.key = "new-secret"
            n = loop.count()
            cltest.wait_for(lambda: loop.count() >= n + 5, 60, "posts with the new key", daemon=d)
            # step 2: the old secret goes, by SIGHUP this time
            cltest.write_file(path, "new-secret name=app-2\n")
            d.send_signal(signal.SIGHUP)
            cltest.wait_for(lambda: d.log_text().count("reload done") >= 2, 60, "second reload",
                            daemon=d)
            n = loop.count()
            cltest.wait_for(lambda: loop.count() >= n + 5, 60, "posts after the rotation",
                            daemon=d)
        finally:
            loop.finish(self)
        st, _, _ = d.post_logs({"message": "x"}, headers=cltest.bearer("old-secret"))
        self.assertEqual(st, 401)
        self.assertEqual(len(d.records()), loop.count())

    def test_bad_key_file_keeps_old_keys(self):
        d, path = self.key_daemon("good-secret name=a\n")
        for bad in ("x name=dup\ny name=dup\n", "# nothing\n", "k records_per_s=fast\n"):
            cltest.write_file(path, bad)
            rc, out, err = reload_cli(d)
            self.assertEqual(rc, 1, out + err)
            self.assertIn("failed: API key file", out)
            st, _, js = d.post_logs({"message": "x"}, headers=cltest.bearer("good-secret"))
            self.assertEqual(st, 202, js)
        self.assertIn("reload: API key file refused, keeping the old settings", d.log_text())
        os.unlink(path)
        rc, out, _ = reload_cli(d)
        self.assertEqual(rc, 1)
        self.assertIn("cannot read API key file", out)

    def test_reload_without_daemon(self):
        data = cltest.mkdtemp("cl-nodaemon-")
        rc, _, err = reload_cli(type("D", (), {"data_dir": data}))
        self.assertEqual(rc, 1)
        self.assertIn("no running cloudlog serve", err)

    def test_reload_ignores_pid_past_pid_t(self):
        """A serve.pid past pid_t's range names no process: cast, it would signal another
        (here a sleep of ours, 2^32 below it; in general init)."""
        other = subprocess.Popen(["sleep", "60"])
        try:
            data = cltest.mkdtemp("cl-bigpid-")
            cltest.write_file(os.path.join(data, "serve.pid"), "%d\n" % (other.pid + 2 ** 32))
            rc, _, err = reload_cli(type("D", (), {"data_dir": data}))
            self.assertEqual(rc, 1, err)
            self.assertIn("names no running cloudlog", err)
            self.assertIsNone(other.poll(), "the other process was signalled")
        finally:
            other.kill()
            other.wait(10)


class AlarmReload(cltest.DaemonTestCase):
    def alarm_names(self, d):
        st, _, data = d.request("GET", "/v1/alarms")
        self.assertEqual(st, 200)
        return {a["name"]: a for a in json.loads(data)["alarms"]}

    def test_alarm_rules_reload(self):
        path = os.path.join(cltest.mkdtemp("cl-alarmreload-"), "alarms.json")
        cltest.write_file(path, json.dumps({"Alarms": [{"AlarmName": "QueueDepthHigh", "Enabled": False}]}))
        d = self.daemon(args=["--alarms-config", path])
        self.assertNotIn("QueueDepthHigh", self.alarm_names(d))
        cltest.write_file(path, json.dumps({"Alarms": [{"AlarmName": "DLQNotEmpty", "Enabled": False},
                                           {"AlarmName": "QueueDepthHigh", "Threshold": 7}]}))
        rc, out, err = reload_cli(d)
        self.assertEqual(rc, 0, out + err)
        names = self.alarm_names(d)
        self.assertNotIn("DLQNotEmpty", names)
        self.assertEqual(names["QueueDepthHigh"]["rule"]["Threshold"], 7)
        cltest.write_file(path, "{not json")
        rc, out, _ = reload_cli(d)
        self.assertEqual(rc, 1)
        self.assertIn("failed: alarm rules", out)
        self.assertEqual(self.alarm_names(d)["QueueDepthHigh"]["rule"]["Threshold"], 7)


class TlsReload(cltest.DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        if not shutil.which("openssl"):
            msg = "openssl not found (Debian package; scripts/setup.sh installs it)"
            if os.environ.get("CI") == "true":
                raise AssertionError(msg)
            raise unittest.SkipTest(msg)
        cls.dir = cltest.mkdtemp("cl-tlsreload-")
        make_ca(cls.dir, "ca", "cloudlog reload CA")
        ext = "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"
        make_cert(cls.dir, "one", "ca", ext)
        make_cert(cls.dir, "two", "ca", ext)

    def path(self, name):
        return os.path.join(self.dir, name)

    def install(self, name):
        for ext in ("crt", "key"):
            shutil.copy(self.path("%s.%s" % (name, ext)), self.path("live.%s.tmp" % ext))
        for ext in ("crt", "key"):
            os.replace(self.path("live.%s.tmp" % ext), self.path("live." + ext))

    def served_der(self, port):
        ctx = ssl.create_default_context(cafile=self.path("ca.crt"))
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
        try:
            c.connect()
            return c.sock.getpeercert(binary_form=True)
        finally:
            c.close()

    def der_of(self, name):
        with open(self.path(name + ".crt")) as f:
            return ssl.PEM_cert_to_DER_cert(f.read())

    def test_rotate_certificate_under_load(self):
        self.install("one")
        d = self.daemon(args=["--tls-cert", self.path("live.crt"), "--tls-key",
                              self.path("live.key")], start=False)
        d.start(wait_ready=False)
        m = cltest.wait_for(lambda: HTTPS_RE.search(d.log_text()) or not d.alive(),
                            cltest.START_TIMEOUT, "'listening on https://'", daemon=d)
        self.assertTrue(d.alive(), d.log_tail())
        port = int(m.group(1))
        self.assertEqual(self.served_der(port), self.der_of("one"))
        ctx = ssl.create_default_context(cafile=self.path("ca.crt"))

        def post(key, i):  # a new connection (and handshake) per request
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)
            try:
                c.request("POST", "/v1/logs", body=b'{"message":"tls %d"}' % i,
                          headers={"Content-Type": "application/json"})
                r = c.getresponse()
                r.read()
                return r.status
            finally:
                c.close()

        loop = PostLoop(post)
        loop.start()
        try:
            cltest.wait_for(lambda: loop.count() >= 5, 60, "posts over TLS", daemon=d)
            self.install("two")
            rc, out, err = reload_cli(d)
            self.assertEqual(rc, 0, out + err)
            n = loop.count()
            cltest.wait_for(lambda: loop.count() >= n + 5, 60, "posts after the rotation",
                            daemon=d)
            self.assertEqual(self.served_der(port), self.der_of("two"))
            # a key that does not belong to the certificate: refused, "two" stays
            shutil.copy(self.path("one.key"), self.path("live.key"))
            rc, out, _ = reload_cli(d)
            self.assertEqual(rc, 1)
            self.assertIn("TLS certificate", out)
            self.assertIn("does not belong to the certificate", out)
            n = loop.count()
            cltest.wait_for(lambda: loop.count() >= n + 5, 60, "posts after the refusal",
                            daemon=d)
            self.assertEqual(self.served_der(port), self.der_of("two"))
        finally:
            loop.finish(self)


if __name__ == "__main__":
    cltest.main()
