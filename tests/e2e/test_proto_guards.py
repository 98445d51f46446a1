"""The request guards of POST /v1/logs on the shipper protocol routes (docs/ingest.md,
"Shipper protocols: routes" and "HTTP guards"), against the real daemon:

- CORS-simple content types (text/plain, form, multipart) are refused with 415 in the
  route's answer shape on Loki and _bulk; HEC takes text/plain only with an
  Authorization header (its token), which a cross-site browser request cannot carry.
- Without API keys, a Host that is not loopback is refused with 421 on every route.
- Idempotency-Key: a retried Loki push is replayed (204, Idempotent-Replayed) and queues
  nothing; the same key with another HEC body is 422 in HEC's shape.
- The timestamp window rejects an old HEC event alone, with HEC's invalid-event-number.
"""

import json
import time

import cltest

cltest.ingest_only()  # the records are read back from queue.db

LOKI = "/loki/api/v1/push"


def loki_body(line):
    return json.dumps({"streams": [{"stream": {"app": "web"},
                                    "values": [["%d" % (time.time_ns()), line]]}]})


class CrossSite(cltest.DaemonTestCase):
    def test_cors_simple_types_per_route(self):
        d = self.daemon()
        for ct in ("text/plain", "application/x-www-form-urlencoded",
                   "multipart/form-data; boundary=x"):
            with self.subTest(ct=ct):
                st, hd, out = d.request("POST", LOKI, body=loki_body("x").encode(),
                                        headers={"Content-Type": ct})
                self.assertEqual(st, 415, out)
                self.assertTrue(hd["content-type"].startswith("text/plain"), hd)
                self.assertIn(b"browsers send it cross-site", out)
                st, hd, out = d.request("POST", "/es/_bulk",
                                        body=b'{"index":{}}\n{"message":"x"}\n',
                                        headers={"Content-Type": ct})
                self.assertEqual(st, 415, out)
                self.assertEqual(hd.get("x-elastic-product"), "Elasticsearch")
                self.assertIn("cross-site", json.loads(out)["error"]["reason"])
                st, _, out = d.request("POST", "/services/collector/raw", body=b"line\n",
                                       headers={"Content-Type": ct})
                self.assertEqual(st, 415, out)
                self.assertIn("cross-site", json.loads(out)["text"])
        # a HEC client: text/plain with its token is taken (keyless daemon: any token)
        st, _, out = d.request("POST", "/services/collector/raw", body=b"raw line\n",
                               headers={"Content-Type": "text/plain",
                                        "Authorization": "Splunk any"})
        self.assertEqual((st, json.loads(out)), (200, {"text": "Success", "code": 0}))
        self.assertEqual([json.loads(l)["message"] for l in d.records()], ["raw line"])

    def test_host_check_on_protocol_routes(self):
        d = self.daemon()
        for path in (LOKI, "/es/_bulk", "/services/collector/event", "/es/",
                     "/services/collector/health"):
            with self.subTest(path=path):
                st, _, out = d.request("POST", path, body=b"{}",
                                       headers={"Host": "evil.example",
                                                "Content-Type": "application/json"})
                self.assertEqual(st, 421, out)
        self.assertEqual(cltest.count_rows(d.db_path), 0)


class IdempotencyAndWindow(cltest.DaemonTestCase):
    def test_loki_retry_is_replayed(self):
        d = self.daemon()
        h = {"Content-Type": "application/json", "Idempotency-Key": "push-1"}
        body = loki_body("once").encode()
        st, hd, out = d.request("POST", LOKI, body=body, headers=h)
        self.assertEqual((st, out), (204, b""))
        self.assertNotIn("idempotent-replayed", hd)
        st, hd, out = d.request("POST", LOKI, body=body, headers=h)
        self.assertEqual((st, out, hd.get("idempotent-replayed")), (204, b"", "true"))
        self.assertEqual([json.loads(l)["message"] for l in d.records()], ["once"])

    def test_hec_key_reuse_is_422_in_hec_shape(self):
        d = self.daemon()
        h = {"Idempotency-Key": "hec-1"}
        st, _, out = d.request("POST", "/services/collector/event", body=b'{"event":"a"}',
                               headers=h)
        self.assertEqual((st, json.loads(out)["code"]), (200, 0))
        st, _, out = d.request("POST", "/services/collector/event", body=b'{"event":"b"}',
                               headers=h)
        self.assertEqual(st, 422, out)
        self.assertIn("already used with a different request", json.loads(out)["text"])
        self.assertEqual(cltest.count_rows(d.db_path), 1)

    def test_old_hec_event_rejected_alone(self):
        # cltest turns the window off by default (tests use fixed timestamps); turn it on
        d = self.daemon(env={"CLOUDLOG_MAX_RECORD_AGE": "7d"})
        body = b'{"event":"old","time":1000000000}{"event":"new"}'
        st, _, out = d.request("POST", "/services/collector/event", body=body)
        js = json.loads(out)
        self.assertEqual((st, js["code"], js["invalid-event-number"]), (400, 6, 0), js)
        self.assertIn("in the past (max record age)", js["error"])
        self.assertEqual([json.loads(l)["message"] for l in d.records()], ["new"])


if __name__ == "__main__":
    cltest.main()
