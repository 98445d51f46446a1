"""log_query end to end (docs/lambda.md "log_query"): Loki's read API from API Gateway HTTP
API 2.0 events, fed through a loopback Runtime API (lambda_runtime.py) to the real
binary, over an S3 store in moto.

The same records are stored twice: by a daemon (its data directory) and, object for
object, in S3. Every request shape Grafana's Loki data source sends (the ones
test_loki_api.py checks against independently computed values: the health check,
Explore's backward/forward log queries as GET and POST form, the logs volume histogram,
index/volume(_range), labels, label values, series with repeated match[], index/stats,
detected_fields, a metric query with grouping) must get, from the function, the daemon's
answer (the same handlers: stats timings aside). Then what only the function has: its
API key check in Loki's shape, 404 for the WebSocket tail, API Gateway's 30 s (a 408
that says so) and 6 MB response limit (gzip for a client that takes it, else a
Loki-shaped 500), and its init errors."""

import base64
import gzip
import json
import os
import time
import unittest
import urllib.parse

import awstest
import cltest
import lambda_runtime
import test_loki_api

BUCKET = "cl-lambda-query"
KEY = "lq-s3cret"
NOW_MS = test_loki_api.NOW_MS
START_NS = str((NOW_MS - 3600 * 1000) * 1000000)
END_NS = str(NOW_MS * 1000000)
# Records whose lines escape to 4x their size in Loki's JSON and 8x in the event: a
# query_range over them fits the daemon's 64 MiB but not a Lambda's 6 MB response.
BIG_RECORDS = 12
BIG_QUOTES = 90000


def http_event(method, path, query="", body=b"", headers=None):
    """An HTTP API payload format 2.0 event as API Gateway sends it (AWS's example shape,
    trimmed to what a function reads): headers lower-cased, rawQueryString still
    URL-encoded, a form body base64-encoded."""
    now_ms = int(time.time() * 1000)
    h = {"user-agent": "Grafana/11.3.0"}
    h.update({k.lower(): v for k, v in (headers or {}).items()})
    return {
        "version": "2.0",
        "routeKey": "ANY /loki/api/v1/{proxy+}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": h,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api-id",
            "domainName": "id.execute-api.us-east-1.amazonaws.com",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "Grafana/11.3.0"},
            "requestId": "lq-test", "routeKey": "ANY /loki/api/v1/{proxy+}",
            "stage": "$default", "timeEpoch": now_ms,
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


def comparable(data):
    """A Loki answer without what differs between two runs of one query (timings)."""
    try:
        js = json.loads(data)
    except ValueError:
        return data
    if isinstance(js, dict) and isinstance(js.get("data"), dict):
        js["data"].pop("stats", None)
    return js


class LambdaQueryTest(awstest.S3Moto, awstest.FunctionCase, cltest.DaemonTestCase):
    BUCKET = BUCKET
    FUNCTION = "log_query"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.d = None
        if not cls.s3_moto:
            return
        recs = test_loki_api.make_records(__import__("random").Random(16))
        big = '"' * BIG_QUOTES
        recs += [{"timestamp": cltest.ms_text(NOW_MS - 120000 - i), "service": "big",
                  "level": "info", "message": big} for i in range(BIG_RECORDS)]
        try:
            cls.d = cltest.Daemon(args=["--flush-age", "500ms", "--flush-size", "16KiB"]).start()
            for i in range(0, len(recs), 50):
                st, _, js = cls.d.post_logs(recs[i:i + 50])
                assert st == 202, (st, js)
            cltest.wait_drained(cls.d.data_dir, timeout=120, dlq=0, daemon=cls.d)
            objects, _, _ = cltest.store_scan(cls.d.data_dir)
            for o in objects:
                with open(o["path"], "rb") as f:
                    cls.s3.put_object(Bucket=BUCKET, Key="logs/" + o["key"], Body=f.read())
            cls.n_objects = len(objects)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.d:
            cls.d.stop()
        super().tearDownClass()

    def store_env(self):
        return self.s3_moto.s3_store_env("s3://%s/logs" % BUCKET)

    def start(self, **extra):
        env = dict(self.store_env(), CLOUDLOG_API_KEYS=KEY)
        env.update(extra)
        return self.start_function(env)

    def call(self, method, path, params=None, headers=None, auth=True, timeout_s=30.0):
        """(status, headers, body bytes) of the function's answer to one request."""
        query, body = "", b""
        if params and method == "POST":
            body = urllib.parse.urlencode(params, doseq=True).encode()
            headers = dict(headers or {}, **{"content-type": "application/x-www-form-urlencoded"})
        elif params:
            query = urllib.parse.urlencode(params, doseq=True)
        if auth:
            headers = dict(headers or {}, Authorization="Bearer " + KEY)
        kind, answer, _ = self.rt.call(http_event(method, path, query, body, headers), timeout=120,
                                       timeout_s=timeout_s)
        self.assertEqual(kind, "response", answer)
        data = answer["body"].encode()
        if answer.get("isBase64Encoded"):
            data = base64.b64decode(data)
        if answer["headers"].get("content-encoding") == "gzip":
            data = gzip.decompress(data)
        return answer["statusCode"], answer["headers"], data

    def daemon_answer(self, method, path, params):
        if method == "POST":
            body = urllib.parse.urlencode(params, doseq=True).encode()
            return self.d.request("POST", path, body,
                                  {"Content-Type": "application/x-www-form-urlencoded"})
        return self.d.request("GET", path + "?" + urllib.parse.urlencode(params, doseq=True))

    def test_grafana_requests_answered_as_the_daemon(self):
        t = {"start": START_NS, "end": END_NS}
        cases = [
            ("GET", "query", {"query": "vector(1)+vector(1)", "time": END_NS}),
            ("GET", "status/buildinfo", {}),
            ("GET", "query_range", dict(t, query='{service="api"} |= "timeout"',
                                        direction="backward", limit="7", step="2s")),
            ("POST", "query_range", dict(t, query='{service="api"} |= "timeout"',
                                         direction="forward", limit="7", step="2s")),
            ("GET", "query_range", dict(t, query='sum by (level) (count_over_time('
                                        '{service="api"} | drop __error__ [1m]))', step="60000ms")),
            ("GET", "query_range", dict(t, query='sum by (service) (rate({level="error"}[5m]))',
                                        step="60")),
            ("GET", "query_range", dict(t, query='topk(2, sum by (user) (count_over_time('
                                        '{service=~"api|web"} | json | status >= 500 [10m])))',
                                        step="300")),
            ("GET", "query", {"query": 'sum by (service) (count_over_time({level="warn"}[1h]))',
                              "time": END_NS}),
            ("GET", "index/volume", dict(t, query='{service=~".+"}')),
            ("GET", "index/volume_range", dict(t, query='{service="web"}', step="300")),
            ("GET", "labels", t),
            ("GET", "label/service/values", t),
            ("GET", "label/level/values", dict(t, query='{service="billing"}')),
            ("GET", "series", dict(t, **{"match[]": ['{service="api"}', '{level="error"}']})),
            ("GET", "index/stats", dict(t, query='{service="web"}')),
            ("GET", "detected_fields", dict(t, query='{service="api"}')),
        ]
        self.start()
        for method, path, params in cases:
            with self.subTest(method=method, path=path, query=params.get("query")):
                st, hd, data = self.call(method, "/loki/api/v1/" + path, params)
                dst, dhd, ddata = self.daemon_answer(method, "/loki/api/v1/" + path, params)
                self.assertEqual((st, dst), (200, 200), data[:300])
                self.assertEqual(hd["content-type"], dhd["content-type"])
                self.assertEqual(comparable(data), comparable(ddata))
        # the answers are not empty: the objects were read from S3
        st, _, data = self.call("GET", "/loki/api/v1/index/stats", dict(t, query='{service=~".+"}'))
        self.assertEqual(json.loads(data)["chunks"], self.n_objects)

    def test_ready_without_key(self):
        self.start()
        st, hd, data = self.call("GET", "/loki/api/v1/ready", auth=False)
        self.assertEqual((st, data), (200, b"ready\n"))
        self.assertTrue(hd["content-type"].startswith("text/plain"))

    def test_head_answered_as_get(self):
        """HEAD (its own route on API Gateway: deploy/aws/template.yaml) gets GET's status
        and headers, as from the daemon."""
        self.start()
        for path in ("/loki/api/v1/labels", "/loki/api/v1/status/buildinfo"):
            st, hd, _ = self.call("HEAD", path)
            dst, dhd, _ = self.d.request("HEAD", path)
            self.assertEqual((st, dst), (200, 200), path)
            self.assertEqual(hd["content-type"], dhd["content-type"], path)

    def test_emf_metrics(self):
        """After each invocation the function prints EMF lines, as the other functions do:
        QueryRequests per StatusClass, QueryLatency (2xx only) and QueryErrors (5xx and
        408: failures on the function's side), with the configured dimensions."""
        f = self.start(CLOUDLOG_EMF_DIMENSIONS="Stack=cl-test")
        q = {"query": '{service="api"}', "start": START_NS, "end": END_NS}
        self.assertEqual(self.call("GET", "/loki/api/v1/labels", q)[0], 200)
        self.assertEqual(self.call("GET", "/loki/api/v1/labels", q, auth=False)[0], 401)
        self.assertEqual(self.call("GET", "/loki/api/v1/query_range", {"query": "{"})[0], 400)
        self.assertEqual(f.metric_sum("QueryRequests", "StatusClass", "2xx"), 1)
        self.assertEqual(f.metric_sum("QueryRequests", "StatusClass", "4xx"), 2)
        self.assertEqual(f.metric_sum("QueryErrors"), 0)
        latency = [d for d in f.emf() if "QueryLatency" in d]
        self.assertEqual(sum(len(d["QueryLatency"]) for d in latency), 1)
        self.assertTrue(all(d["Stack"] == "cl-test" for d in latency))
        f.kill()  # one function on the Runtime API at a time
        g = self.start(CLOUDLOG_QUERY_TIMEOUT="1ms")  # a query cut by its deadline: 408
        params = {"query": 'count_over_time({service=~".+"} |~ "t.*o" [1h])', "step": "60",
                  "start": START_NS, "end": END_NS}
        self.assertEqual(self.call("GET", "/loki/api/v1/query_range", params)[0], 408)
        self.assertEqual(g.metric_sum("QueryErrors"), 1)
        self.assertEqual(g.metric_sum("QueryRequests", "StatusClass", "4xx"), 1)

    def test_refusals_in_lokis_shape(self):
        self.start()
        q = {"query": '{service="api"}', "start": START_NS, "end": END_NS}
        wrong = {"Authorization": "Bearer wrong"}
        cases = [  # method, path, params, headers, send the key, status, message
            ("GET", "/loki/api/v1/labels", q, None, False, 401, "missing or invalid API key"),
            ("GET", "/loki/api/v1/labels", q, wrong, False, 401, "missing or invalid API key"),
            ("DELETE", "/loki/api/v1/labels", {}, None, True, 405, "method not allowed"),
            ("GET", "/loki/api/v1/nope", {}, None, True, 404, "404 page not found"),
            ("GET", "/v1/query", {}, None, True, 404, "404 page not found"),
            ("GET", "/loki/api/v1/tail", q, None, True, 404, "WebSocket"),
            ("GET", "/loki/api/v1/query_range", dict(q, query='{service="api"} | pattern "<_>"'),
             None, True, 400, "unsupported: pattern parser"),
            ("POST", "/loki/api/v1/query_range", {"query": "x" * (1 << 20)}, None, True, 413,
             "form body exceeds 1 MiB"),
        ]
        for method, path, params, headers, key, status, msg in cases:
            with self.subTest(method=method, path=path, status=status):
                st, hd, data = self.call(method, path, params, headers=headers, auth=key)
                self.assertEqual(st, status, data[:300])
                js = json.loads(data)
                self.assertEqual((js["code"], js["status"]), (status, "error"))
                self.assertIn(msg, js["message"])
                if status == 401:
                    self.assertEqual(hd["www-authenticate"], "Bearer")
                if status == 405:
                    self.assertEqual(hd["allow"], "GET, HEAD, POST")
        # Grafana's "Basic authentication" with the key as password
        basic = "Basic " + base64.b64encode(b"grafana:" + KEY.encode()).decode()
        st, _, _ = self.call("GET", "/loki/api/v1/labels", q, headers={"Authorization": basic},
                             auth=False)
        self.assertEqual(st, 200)

    def test_response_over_6_mb_is_a_loki_error(self):
        """The daemon answers this query (about 8 MB as an event); the function may not
        return more than 6 MB through API Gateway: a Loki-shaped 500 naming the limit.
        Sent gzip-compressed (Accept-Encoding: gzip, as Grafana's HTTP client asks), the
        same answer fits."""
        params = {"query": '{service="big"}', "limit": "5000", "start": START_NS, "end": END_NS}
        dst, _, ddata = self.daemon_answer("GET", "/loki/api/v1/query_range", params)
        self.assertEqual(dst, 200)
        self.assertEqual(sum(len(s["values"]) for s in json.loads(ddata)["data"]["result"]),
                         BIG_RECORDS)
        self.start()
        st, _, data = self.call("GET", "/loki/api/v1/query_range", params)
        self.assertEqual(st, 500)
        js = json.loads(data)
        self.assertEqual((js["code"], js["status"]), (500, "error"))
        self.assertIn("6 MB", js["message"])
        self.assertIn("narrow the query", js["message"])
        self.assertIn("Accept-Encoding: gzip", js["message"])
        st, hd, data = self.call("GET", "/loki/api/v1/query_range", params,
                                 headers={"Accept-Encoding": "gzip, deflate"})
        self.assertEqual(st, 200, data[:300])
        self.assertEqual(hd["content-encoding"], "gzip")
        self.assertEqual(comparable(data), comparable(ddata))
        for refused in ("gzip;q=0", "identity"):
            st, hd, _ = self.call("GET", "/loki/api/v1/query_range", params,
                                  headers={"Accept-Encoding": refused})
            self.assertEqual(st, 500, refused)
        params["limit"] = "2"  # narrowed: it fits
        st, hd, data = self.call("GET", "/loki/api/v1/query_range", params)
        self.assertEqual(st, 200, data[:300])
        self.assertNotIn("content-encoding", hd)

    def test_deadline_is_a_408_naming_api_gateway(self):
        """A query cut by its deadline (here CLOUDLOG_QUERY_TIMEOUT=1ms; on AWS at most
        API Gateway's 30 s) answers 408 in Loki's shape, saying which limit."""
        self.start(CLOUDLOG_QUERY_TIMEOUT="1ms")
        params = {"query": 'count_over_time({service=~".+"} |~ "t.*o" [1h])', "step": "60",
                  "start": START_NS, "end": END_NS}
        st, _, data = self.call("GET", "/loki/api/v1/query_range", params)
        self.assertEqual(st, 408, data[:300])
        js = json.loads(data)
        self.assertEqual((js["code"], js["status"]), (408, "error"))
        self.assertIn("API Gateway answers a Lambda within 30 s", js["message"])

    def test_init_errors(self):
        """No store, or keys required but none given: an init error naming the variable."""
        for env, word in (({"CLOUDLOG_STORE": ""}, "CLOUDLOG_STORE"),
                          ({"CLOUDLOG_API_KEYS": ""}, "CLOUDLOG_API_KEYS")):
            with self.subTest(word=word):
                rt = lambda_runtime.RuntimeAPI()
                try:
                    f = self.start_function(dict(self.store_env(), **env), rt=rt)
                    self.assertNotEqual(f.wait_exit(timeout=30), 0)
                    self.assertEqual(len(rt.init_errors), 1)
                    self.assertIn(word, rt.init_errors[0][1].decode())
                finally:
                    rt.close()


if __name__ == "__main__":
    unittest.main()
