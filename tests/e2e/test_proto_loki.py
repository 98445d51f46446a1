"""Loki push API (JSON) end to end with the real pino-loki transport under pino
(tests/clients/loki_send.js): entries into stored objects checked field by field (labels
give the level and the service, the JSON line its members, structured metadata more
fields), a record over --max-record rejected alone with Loki's plain-text 400, 204 on
success, and a wrong key refused; and Loki's snappy-compressed protobuf push with the real
winston-loki transport (tests/clients/winston_send.js), mapped the same way."""

import json

import cltest
import shippers


def iso(ms):
    return cltest.ms_text(ms)


class PinoLoki(shippers.ClientTestCase):
    MODULE = "pino-loki"

    def send(self, d, key=shippers.KEY, big=None):
        return self.run_client("loki_send.js", d, key, big)

    def check_stored(self, d):
        records = shippers.stored_records(d)
        self.assertEqual(len(records), 2, records)
        labels = {"hostname": "web-1", "app": "pino-app", "env": "e2e"}
        want = {
            "loki first": dict(labels, level="warn", user="ann", trace_id="abc123",
                               meta={"trace_id": "abc123"}),
            "loki second": dict(labels, level="error", code=7),
        }
        for rec in records:
            exp = dict(want[rec["message"]], message=rec["message"], service="pino-app",
                       time=rec["time"], timestamp=iso(rec["time"]))
            self.assertEqual(rec, exp)

    def test_push_success(self):
        d = self.start_daemon()
        self.assertEqual(self.send(d), {"errors": []})
        self.check_stored(d)

    def test_partial_rejection(self):
        d = self.start_daemon()
        out = self.send(d, big=8000)
        self.assertEqual(len(out["errors"]), 1, out)
        self.assertIn("1 of 3 entries rejected; first (entry 2): record too large",
                      out["errors"][0])
        self.check_stored(d)

    def test_wrong_key_refused(self):
        d = self.start_daemon()
        out = self.send(d, key="wrong")
        self.assertIn("missing or invalid API key", out["errors"][0])
        self.assertEqual(cltest.count_rows(d.db_path), 0)


class PinoLokiServiceLabels(shippers.ClientTestCase):
    """CLOUDLOG_LOKI_SERVICE_LABELS / --loki-service-labels: pino-loki's labels name the
    service through the configured list (env first, then hostname), and a bad list is
    refused at start-up."""
    MODULE = "pino-loki"

    def send(self, d):
        return self.run_client("loki_send.js", d)

    def test_configured_labels(self):
        d = self.daemon(args=["--api-key-file", cltest.write_key_file(shippers.KEY)]
                        + self.DAEMON_ARGS,
                        env={"CLOUDLOG_LOKI_SERVICE_LABELS": "env,hostname"})
        self.assertEqual(self.send(d), {"errors": []})
        records = shippers.stored_records(d)
        self.assertEqual(sorted((r["service"], r["message"]) for r in records),
                         [("e2e", "loki first"), ("e2e", "loki second")])
        self.assertEqual({r["app"] for r in records}, {"pino-app"})

    def test_flag_with_absent_labels_and_refusal(self):
        d = self.start_daemon(["--loki-service-labels", "cluster,hostname"])
        self.assertEqual(self.send(d), {"errors": []})
        self.assertEqual({r["service"] for r in shippers.stored_records(d)}, {"web-1"})
        rc, text = cltest.expect_refusal(["serve", "--listen", "127.0.0.1:0", "--data",
                                          cltest.mkdtemp(), "--loki-service-labels", "app,"])
        self.assertNotEqual(rc, 0)
        self.assertIn("invalid --loki-service-labels: a trailing comma", text)


class WinstonLoki(shippers.ClientTestCase):
    MODULE = "winston-loki"

    def send(self, d, key=shippers.KEY, big=None):
        return self.run_client("winston_send.js", d, key, big)

    def check_stored(self, d):
        records = shippers.stored_records(d)
        self.assertEqual(len(records), 2, records)
        want = {
            'winston first {"user":"bob","level":"warn"}': "warn",
            'winston second {"level":"error"}': "error",
        }
        for rec in records:
            self.assertRegex(rec["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            exp = {"timestamp": rec["timestamp"], "level": want[rec["message"]],
                   "service": "winston-app", "message": rec["message"], "app": "winston-app",
                   "env": "e2e"}
            self.assertEqual(rec, exp)

    def test_protobuf_push(self):
        d = self.start_daemon()
        self.assertEqual(self.send(d), {"errors": []})
        self.check_stored(d)

    def test_protobuf_partial_rejection_and_key(self):
        d = self.start_daemon()
        out = self.send(d, big=8000)
        self.assertEqual(out["errors"], ["Server returned HTTP 400: 1 of 3 entries rejected; "
                                         "first (entry 2): record too large (8145 bytes, "
                                         "limit 4096)"])
        self.check_stored(d)
        out = self.send(d, key="wrong")
        self.assertIn("HTTP 401", out["errors"][0])


class LokiAnswers(cltest.DaemonTestCase):
    def test_answers(self):
        d = self.daemon(args=["--flush-age", "1s"])
        body = {"streams": [{"stream": {"service_name": "svc a", "detected_level": "ERROR"},
                             "values": [["1796560830123456789", "plain line"], ["x", "bad"]]}]}
        st, hd, out = d.request("POST", "/loki/api/v1/push", body=json.dumps(body).encode(),
                                headers={"Content-Type": "application/json"})
        self.assertEqual(st, 400, out)
        self.assertTrue(hd["content-type"].startswith("text/plain"), hd)
        self.assertIn(b"1 of 2 entries rejected; first (entry 1)", out)
        st, _, out = d.request("POST", "/loki/api/v1/push", body=b"\xff\xff\xff\xff\x0f",
                               headers={"Content-Type": "application/x-protobuf"})
        self.assertEqual(st, 400, out)
        self.assertIn(b"snappy", out)
        self.assertEqual(shippers.stored_records(d), [{
            "timestamp": "2026-12-06T12:40:30.123Z", "level": "error", "service": "svc_a",
            "message": "plain line", "service_name": "svc a", "detected_level": "ERROR"}])


if __name__ == "__main__":
    cltest.main()
