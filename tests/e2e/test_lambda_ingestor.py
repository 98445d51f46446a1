"""log_ingestor end to end: API Gateway HTTP API payload 2.0 events (AWS's documented
example shape; plain, base64 and gzip bodies; header case) through a loopback Runtime API
(lambda_runtime.py) to the real binary, messages sent to SQS in moto with SigV4
verification on; answers compared byte for byte with the daemon's POST /v1/logs; then
the messages, as an SQS event, through log_processor into S3 (a second moto)."""

import base64
import gzip
import json
import os
import sys
import time
import uuid

import awstest
import cltest
import lambda_runtime

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import faultproxy  # noqa: E402

BUCKET = "cl-lambda-pipeline"
NOW_MS = int(time.time() * 1000)
# An OTLP protobuf request the real OpenTelemetry JS exporter sent (tests/clients/otlp_send.js)
OTLP_SEED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus",
                         "fuzz_proto_otlp_pb", "js_exporter_four_records")
# A snappy-compressed protobuf Loki push the real winston-loki sent, kept as a fuzz seed.
LOKI_SEED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus",
                         "fuzz_proto_loki_pb", "winston_three_entries")


def http_event(body=b"", headers=None, method="POST", path="/v1/logs", b64=None):
    """An HTTP API payload format 2.0 event as API Gateway sends it (AWS's example)."""
    if b64 is None:  # API Gateway base64-encodes everything but text/JSON-like types
        ct = (headers or {}).get("content-type", "")
        b64 = not (ct.startswith("application/json") or ct.startswith("text/")) or \
            "content-encoding" in {k.lower() for k in (headers or {})}
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "cookies": ["cookie1"],
        "headers": dict({"accept": "*/*", "host": "id.execute-api.us-east-1.amazonaws.com",
                         "user-agent": "curl/8.5.0",
                         "x-forwarded-for": "192.0.2.1"}, **(headers or {})),
        "requestContext": {
            "accountId": "123456789012", "apiId": "api-id",
            "domainName": "id.execute-api.us-east-1.amazonaws.com", "domainPrefix": "id",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "curl/8.5.0"},
            "requestId": "JKJaXmPLvHcESHA=", "routeKey": "$default", "stage": "$default",
            "time": "10/Mar/2020:00:03:58 +0000", "timeEpoch": NOW_MS},
        "body": base64.b64encode(body).decode() if b64 else body.decode(),
        "isBase64Encoded": bool(b64),
    }


def lambda_sqs_record(m):
    """A message received with boto3, reshaped as Lambda's SQS event delivers it."""
    return {
        "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
        "attributes": dict(m.get("Attributes", {})),
        "messageAttributes": {k: {"stringValue": v.get("StringValue"), "stringListValues": [],
                                  "binaryListValues": [], "dataType": v["DataType"]}
                              for k, v in m.get("MessageAttributes", {}).items()},
        "md5OfBody": m["MD5OfBody"], "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"}


class IngestorTest(awstest.SqsAndS3, awstest.FunctionCase, cltest.DaemonTestCase):
    BUCKET = BUCKET
    FUNCTION = "log_ingestor"

    def setUp(self):
        super().setUp()
        self.queue_url = self.sqs.create_queue(
            QueueName="cl-%s" % uuid.uuid4().hex[:10])["QueueUrl"]

    def start(self, name="log_ingestor", rt=None, extra=None):
        env = dict(self.sqs_moto.env(), CLOUDLOG_QUEUE_URL=self.queue_url,
                   AWS_ENDPOINT_URL_SQS=self.sqs_moto.url,
                   CLOUDLOG_EMF_DIMENSIONS="Stack=cl-test", CLOUDLOG_AUTH="none")
        env.update(cltest.DEFAULT_ENV)  # the fixtures' fixed dates: timestamp window off
        env.update(extra or {})
        return self.start_function(env, name, rt)

    def post(self, event, content_type="application/json"):
        kind, resp, _ = self.rt.call(event)
        self.assertEqual(kind, "response", resp)
        self.assertEqual(resp["headers"]["content-type"], content_type)
        self.assertIs(resp["isBase64Encoded"], content_type == "application/x-protobuf")
        return resp

    def receive_all(self, want, timeout=30):
        msgs, deadline = [], time.monotonic() + timeout
        while len(msgs) < want and time.monotonic() < deadline:
            got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1, MessageAttributeNames=["All"],
                                           AttributeNames=["All"]).get("Messages", [])
            msgs += got
        return msgs

    def lines_of(self, msgs):
        lines = []
        for m in msgs:
            self.assertEqual(m["MessageAttributes"]["encoding"]["StringValue"], "gzip")
            lines += gzip.decompress(base64.b64decode(m["Body"])).decode().splitlines()
        return lines

    def daemon_answer(self, body, headers, method="POST", path="/v1/logs", args=()):
        """The daemon's answer to the same request, as (status, body text)."""
        d = self.daemon(args=list(args))
        status, _, data = d.request(method, path, body=body, headers=headers)
        return status, data.decode()

    def test_plain_json_matches_daemon(self):
        self.start()
        body = json.dumps([{"message": "hello", "level": "WARNING", "ts": 1764000000.5},
                           {"msg": "second", "app": "billing"}, {"no": "message"}]).encode()
        headers = {"content-type": "application/json", "x-cloudlog-service": "api"}
        resp = self.post(http_event(body, headers))
        self.assertEqual(resp["statusCode"], 202)
        status, text = self.daemon_answer(body, {"Content-Type": "application/json",
                                                 "X-Cloudlog-Service": "api"})
        self.assertEqual((resp["statusCode"], resp["body"]), (status, text))
        lines = self.lines_of(self.receive_all(1))
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[0].startswith('{"timestamp":"2025-11-24T16:00:00.500Z",'
                                            '"level":"warn","service":"api","message":"hello"'))
        self.assertIn('"service":"billing","message":"second"', lines[1])
        # no timestamp: the time API Gateway received the request (requestContext.timeEpoch)
        epoch = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(NOW_MS // 1000))
        self.assertTrue(lines[1].startswith('{"timestamp":"%s.%03dZ"' % (epoch, NOW_MS % 1000)),
                        lines[1])

    def test_base64_ndjson_and_gzip_with_mixed_case_headers(self):
        f = self.start()
        ndjson = b"".join(json.dumps({"message": "line %d" % i, "service": "web"}).encode() +
                          b"\n" for i in range(50))
        resp = self.post(http_event(ndjson, {"content-type": "application/x-ndjson"}))
        self.assertEqual(resp["statusCode"], 202, resp)
        self.assertEqual(json.loads(resp["body"])["accepted"], 50)
        gz = gzip.compress(ndjson)
        resp = self.post(http_event(gz, {"Content-Type": "application/x-ndjson",
                                         "Content-Encoding": "gzip"}))
        self.assertEqual(resp["statusCode"], 202, resp)
        self.assertEqual(json.loads(resp["body"])["accepted"], 50)
        lines = self.lines_of(self.receive_all(2))
        self.assertEqual(len(lines), 100)
        self.assertEqual(sorted(json.loads(l)["message"] for l in lines),
                         sorted(["line %d" % i for i in range(50)] * 2))
        self.assertEqual(f.metric_sum("IngestedLogCount"), 100)
        self.assertEqual(f.metric_sum("IngestRequests", "StatusClass", "2xx"), 2)

    def test_errors_match_daemon(self):
        f = self.start(extra={"CLOUDLOG_MAX_BODY": "1KiB"})
        cases = [
            (b"{not json", {"content-type": "application/json"}, "POST", "/v1/logs"),
            (b"[{\"nomessage\":1}]", {"content-type": "application/json"}, "POST", "/v1/logs"),
            (b"x" * 2048, {"content-type": "application/json"}, "POST", "/v1/logs"),
            (b"{}", {"content-type": "text/html"}, "POST", "/v1/logs"),
            (b"{}", {"content-type": "text/plain"}, "POST", "/v1/logs"),  # CORS-simple
            (b"{}", {"content-type": "application/json", "content-encoding": "br"}, "POST",
             "/v1/logs"),
            (b"abc", {"content-type": "application/json", "content-encoding": "gzip"}, "POST",
             "/v1/logs"),
            (b"", {}, "GET", "/v1/logs"),
            (b"", {}, "GET", "/nope"),
        ]
        d = self.daemon(args=["--max-body", "1KiB"])
        for body, headers, method, path in cases:
            resp = self.post(http_event(body, headers, method=method, path=path))
            status, _, data = d.request(method, path, body=body or None,
                                        headers={k.title(): v for k, v in headers.items()})
            self.assertEqual((resp["statusCode"], resp["body"]), (status, data.decode()),
                             (body[:20], headers, method, path))
            if status == 405:
                self.assertEqual(resp["headers"]["allow"], "POST")
        self.assertEqual(self.receive_all(1, timeout=2), [])
        self.assertEqual(f.metric_sum("IngestRequests", "StatusClass", "4xx"), 8)

    def test_shipper_protocols_match_daemon(self):
        """The shipper protocols through the same ingest stage: Splunk HEC (its answers and
        auth forms), Elasticsearch _bulk (items, X-Elastic-Product) and OTLP protobuf (a body the real OpenTelemetry JS exporter sent, kept
        as a fuzz seed), answered byte for byte as the daemon answers."""
        self.start(extra={"CLOUDLOG_API_KEYS": "k1"})
        d = self.daemon(args=["--api-key-file", cltest.write_key_file("k1")])
        with open(OTLP_SEED, "rb") as fh:
            otlp = fh.read()
        cases = [
            (b'{"event":"hec one","time":"1764000000.5"}{"event":{"message":"hec two"}}',
             {"authorization": "Splunk k1"}, "/services/collector/event", "application/json"),
            (b'{"event":""}', {"authorization": "Splunk k1"}, "/services/collector",
             "application/json"),
            (b"raw line\n", {"authorization": "Basic dTprMQ=="}, "/services/collector/raw",
             "application/json"),
            (b'{"event":"x"}', {}, "/services/collector/event", "application/json"),
            (b'{"event":"x"}', {"authorization": "Splunk nope"}, "/services/collector/event",
             "application/json"),
            (otlp, {"authorization": "Bearer k1", "content-type": "application/x-protobuf"},
             "/v1/logs", "application/x-protobuf"),
            (b"\x0a\xff", {"authorization": "Bearer k1", "content-type": "application/x-protobuf"},
             "/v1/logs", "application/x-protobuf"),
            (b'{"create":{"_index":"web","_id":"9"}}\n{"message":"es one"}\n{"delete":{"_id":"3"}}\n',
             {"authorization": "ApiKey aWQ6azE=", "content-type": "application/x-ndjson"},
             "/es/_bulk", "application/json"),
            (b'{"index":{}}\n', {"authorization": "ApiKey k1"}, "/es/logs/_bulk",
             "application/json"),
            (b'{"streams":[{"stream":{"app":"loki"},"values":[["1764000000000000000","loki one"],'
             b'["bad","x"]]}]}', {"authorization": "Bearer k1", "content-type": "application/json"},
             "/loki/api/v1/push", "text/plain; charset=utf-8"),
        ]
        for body, headers, path, ct in cases:
            resp = self.post(http_event(body, headers, path=path), content_type=ct)
            status, _, data = d.request("POST", path, body=body,
                                        headers={k.title(): v for k, v in headers.items()})
            got = base64.b64decode(resp["body"]) if resp["isBase64Encoded"] else \
                resp["body"].encode()
            self.assertEqual((resp["statusCode"], got), (status, data), (body[:30], path))
            if path.startswith("/es/"):
                self.assertEqual(resp["headers"]["x-elastic-product"], "Elasticsearch")
        resp = self.post(http_event(b"", {"authorization": "Bearer k1"}, method="GET", path="/es/"))
        self.assertEqual((resp["statusCode"], json.loads(resp["body"])["tagline"]),
                         (200, "You Know, for Search"))
        self.assertEqual(resp["headers"]["x-elastic-product"], "Elasticsearch")
        resp = self.post(http_event(b"", {}, method="GET", path="/services/collector/health"))
        self.assertEqual((resp["statusCode"], json.loads(resp["body"])["code"]), (200, 17))
        # HEAD as GET (its own route on API Gateway), as the daemon: the clients' ping
        for path in ("/es/", "/es", "/services/collector/health"):
            resp = self.post(http_event(b"", {"authorization": "Bearer k1"}, method="HEAD",
                                        path=path))
            self.assertEqual(resp["statusCode"], 200, (path, resp))
        lines = self.lines_of(self.receive_all(5))  # one message per accepted request
        self.assertEqual(sorted(json.loads(line)["message"] for line in lines),
                         sorted(["hec one", "hec two", "raw line", "hello from otlp", "map body",
                                 "text severity only", "x" * 100, "es one", "loki one"]))

    def test_api_keys(self):
        self.start(extra={"CLOUDLOG_API_KEYS": " k1 ,k2,", "CLOUDLOG_AUTH": "apikey"})
        body = b'{"message":"x"}'
        for auth, status in ((None, 401), ("Bearer nope", 401), ("Bearer k2", 202),
                             ("bearer k1", 202)):
            headers = {"content-type": "application/json"}
            if auth:
                headers["authorization"] = auth
            resp = self.post(http_event(body, headers))
            self.assertEqual(resp["statusCode"], status)
            if status == 401:
                self.assertEqual(resp["headers"]["www-authenticate"], "Bearer")
                self.assertIn("API key", json.loads(resp["body"])["error"])

    def test_named_keys_counted_in_emf(self):
        f = self.start(extra={"CLOUDLOG_API_KEYS": "s1 name=team-a,s2 name=team-b records_per_s=9",
                              "CLOUDLOG_AUTH": "apikey"})
        for auth in ("Bearer s1", "Bearer s1", "Bearer s2", "Bearer nope"):
            headers = {"content-type": "application/json", "authorization": auth}
            self.post(http_event(b'[{"message":"a"},{"message":"b"}]', headers))
        cltest.wait_for(lambda: sum(d.get("KeyRecords", 0) for d in f.emf()) >= 6, 30,
                        "every invocation's EMF")
        per = {}
        for d in f.emf():
            if "ApiKey" in d:
                self.assertEqual(d["_aws"]["CloudWatchMetrics"][0]["Dimensions"], [["ApiKey"]])
                per[d["ApiKey"]] = per.get(d["ApiKey"], 0) + d["KeyRecords"]
        self.assertEqual(per, {"team-a": 4, "team-b": 2})

    def test_init_fails_when_keys_are_required_and_empty(self):
        """CLOUDLOG_AUTH=apikey (the template's ApiAuth=ApiKey, and the default when unset)
        with no key must not start an open ingestor (issue 13, item 1)."""
        for extra in ({"CLOUDLOG_AUTH": "apikey", "CLOUDLOG_API_KEYS": ""},
                      {"CLOUDLOG_AUTH": "", "CLOUDLOG_API_KEYS": ""},
                      {"CLOUDLOG_AUTH": "apikey", "CLOUDLOG_API_KEYS": " , "},
                      {"CLOUDLOG_AUTH": "open", "CLOUDLOG_API_KEYS": "k1"}):
            self.rt.close()
            self.rt = lambda_runtime.RuntimeAPI()
            f = self.start(extra=extra)
            self.assertNotEqual(f.wait_exit(), 0, extra)
            headers, body = self.rt.init_errors[0]
            self.assertEqual(headers["lambda-runtime-function-error-type"], "Runtime.InitError")
            message = json.loads(body)["errorMessage"]
            self.assertIn("CLOUDLOG_AUTH" if extra["CLOUDLOG_AUTH"] == "open"
                          else "CLOUDLOG_API_KEYS", message)

    def test_open_endpoint_needs_explicit_none(self):
        self.start(extra={"CLOUDLOG_AUTH": "none", "CLOUDLOG_API_KEYS": ""})
        resp = self.post(http_event(b'{"message":"x"}', {"content-type": "application/json"}))
        self.assertEqual(resp["statusCode"], 202, resp)

    def test_queue_failure_is_503(self):
        with faultproxy.FaultProxy.start_thread(self.sqs_moto.url) as fp:
            fp.add({"target": "SendMessage", "action": "status", "status": 500, "times": None})
            port = int(fp.url.rsplit(":", 1)[1])
            url = self.queue_url.replace(":%d/" % self.sqs_moto.port, ":%d/" % port)
            f = self.start(extra={"AWS_ENDPOINT_URL_SQS": fp.url, "CLOUDLOG_QUEUE_URL": url})
            resp = self.post(http_event(b'{"message":"x"}', {"content-type": "application/json"}))
            self.assertEqual(resp["statusCode"], 503, resp)
            self.assertIn("retry-after", resp["headers"])
            self.assertIn("nothing was accepted", json.loads(resp["body"])["error"])
            self.assertEqual(f.metric_sum("IngestRequests", "StatusClass", "5xx"), 1)
            self.assertEqual(f.metric_sum("IngestedLogCount"), 0)

    def test_time_window(self):
        """CLOUDLOG_MAX_RECORD_AGE / _FUTURE (defaults 7d / 10m) around API Gateway's
        timeEpoch: a record of year 1 is rejected alone with its reason, as the daemon."""
        self.start(extra={"CLOUDLOG_MAX_RECORD_AGE": "7d", "CLOUDLOG_MAX_RECORD_FUTURE": "10m"})
        body = json.dumps([{"message": "old", "ts": "0001-01-01T00:00:00Z"},
                           {"message": "now", "ts": NOW_MS}]).encode()
        resp = self.post(http_event(body, {"content-type": "application/json"}))
        self.assertEqual(resp["statusCode"], 202, resp)
        js = json.loads(resp["body"])
        self.assertEqual((js["accepted"], js["rejected"]), (1, 1))
        self.assertEqual(js["errors"][0]["error"], "timestamp 0001-01-01T00:00:00.000Z is more "
                         "than 7d in the past (max record age)")
        self.assertEqual([json.loads(l)["message"] for l in self.lines_of(self.receive_all(1))],
                         ["now"])

    def test_init_error_for_long_api_key(self):
        """A key over 1024 bytes was split into two keys; now init fails and says why."""
        f = self.start(extra={"CLOUDLOG_API_KEYS": "short," + "k" * 1100})
        self.assertNotEqual(f.wait_exit(), 0)
        headers, body = self.rt.init_errors[0]
        self.assertIn("key number 2 of the list is longer than 1024 bytes",
                      json.loads(body)["errorMessage"])
    def start_idem(self, prefix, extra=None):
        env = {"CLOUDLOG_IDEMPOTENCY_STORE": "s3://%s/%s" % (BUCKET, prefix),
               "AWS_ENDPOINT_URL_S3": self.s3_moto.url}
        env.update(extra or {})
        return self.start(extra=env)

    def test_idempotency_key_kept_in_s3(self):
        """A retry of a request whose answer was lost (the same event again) replays the
        first answer and queues nothing; the same key with another body is 422; the key
        records are two create-only objects in S3 (docs/ingest.md)."""
        prefix = "idem-%s" % uuid.uuid4().hex[:6]
        self.start_idem(prefix)
        hdrs = {"content-type": "application/x-ndjson", "idempotency-key": "order-7"}
        body = b'{"message":"once 1"}\n{"message":"once 2"}\n'
        first = self.post(http_event(body, hdrs))
        self.assertEqual(first["statusCode"], 202, first)
        self.assertNotIn("idempotent-replayed", first["headers"])
        again = self.post(http_event(body, hdrs))
        self.assertEqual((again["statusCode"], again["body"]), (first["statusCode"], first["body"]))
        self.assertEqual(again["headers"].get("idempotent-replayed"), "true")
        other = self.post(http_event(b'{"message":"other"}\n', hdrs))
        self.assertEqual(other["statusCode"], 422, other)
        self.assertIn("already used with a different request", json.loads(other["body"])["error"])
        msgs = self.receive_all(2, timeout=3)  # bounded: only one message may exist
        self.assertEqual(len(msgs), 1)
        self.assertEqual(sorted(json.loads(l)["message"] for l in self.lines_of(msgs)),
                         ["once 1", "once 2"])
        keys = sorted(o["Key"] for o in self.s3.list_objects_v2(
            Bucket=BUCKET, Prefix=prefix + "/").get("Contents", []))
        self.assertEqual([k.rsplit(".", 1)[1] for k in keys], ["answer", "claim"], keys)

    def test_idempotency_key_after_a_failed_send_is_free_again(self):
        """A send that fails gives the key up: the retry is processed anew, once."""
        prefix = "idem-%s" % uuid.uuid4().hex[:6]
        with faultproxy.FaultProxy.start_thread(self.sqs_moto.url) as fp:
            fp.add({"target": "SendMessage", "action": "status", "status": 500, "times": 3})
            port = int(fp.url.rsplit(":", 1)[1])
            url = self.queue_url.replace(":%d/" % self.sqs_moto.port, ":%d/" % port)
            self.start_idem(prefix, {"AWS_ENDPOINT_URL_SQS": fp.url, "CLOUDLOG_QUEUE_URL": url})
            hdrs = {"content-type": "application/json", "idempotency-key": "retry-me"}
            ev = http_event(b'{"message":"after 503"}', hdrs)
            self.assertEqual(self.post(ev)["statusCode"], 503)
            resp = self.post(ev)
            self.assertEqual(resp["statusCode"], 202, resp)
            self.assertNotIn("idempotent-replayed", resp["headers"])
        self.assertEqual(len(self.receive_all(2, timeout=3)), 1)

    def test_loki_snappy_protobuf_push(self):
        """Loki's snappy protobuf push (winston-loki's bytes) through the ingestor: 204 as
        the daemon answers, the entries sent to SQS (the static Lambda build links
        libsnappy too; tests/lambda/test_package.py runs the same push in the zip)."""
        self.start()
        with open(LOKI_SEED, "rb") as fh:
            body = fh.read()
        headers = {"content-type": "application/x-protobuf"}
        resp = self.post(http_event(body, headers, path="/loki/api/v1/push"),
                         content_type="text/plain; charset=utf-8")
        status, data = self.daemon_answer(body, {"Content-Type": "application/x-protobuf"},
                                          path="/loki/api/v1/push")
        self.assertEqual((resp["statusCode"], resp["body"]), (204, ""), resp)
        self.assertEqual((status, data), (204, ""))
        lines = [json.loads(line) for line in self.lines_of(self.receive_all(1))]
        self.assertEqual(len(lines), 3, lines)
        self.assertTrue(all(r["message"] for r in lines), lines)

    def test_protocol_settings_from_environment(self):
        """CLOUDLOG_ES_PREFIX moves the _bulk API (the old /es is then 404) and
        CLOUDLOG_LOKI_SERVICE_LABELS picks the label naming the service, as the daemon's
        --es-prefix and --loki-service-labels do; bad values fail init."""
        self.start(extra={"CLOUDLOG_ES_PREFIX": "/search/es",
                          "CLOUDLOG_LOKI_SERVICE_LABELS": "team,app"})
        nd = {"content-type": "application/x-ndjson"}
        bulk = b'{"create":{}}\n{"message":"es moved"}\n'
        resp = self.post(http_event(bulk, nd, path="/search/es/web/_bulk"))
        self.assertEqual(resp["statusCode"], 200, resp)
        self.assertEqual(resp["headers"]["x-elastic-product"], "Elasticsearch")
        resp = self.post(http_event(b"", {}, method="GET", path="/search/es"))
        self.assertEqual(json.loads(resp["body"])["tagline"], "You Know, for Search")
        self.assertEqual(self.post(http_event(bulk, nd, path="/es/_bulk"))["statusCode"], 404)
        loki = (b'{"streams":[{"stream":{"app":"a1","team":"t-9"},'
                b'"values":[["1764000000000000000","loki labelled"]]}]}')
        resp = self.post(http_event(loki, {"content-type": "application/json"},
                                    path="/loki/api/v1/push"), content_type="text/plain; charset=utf-8")
        self.assertEqual(resp["statusCode"], 204, resp)
        got = sorted((r["service"], r["message"]) for r in
                     map(json.loads, self.lines_of(self.receive_all(2))))
        self.assertEqual(got, [("t-9", "loki labelled"), ("web", "es moved")])
        for extra, name in (({"CLOUDLOG_ES_PREFIX": "/loki"}, "CLOUDLOG_ES_PREFIX"),
                            ({"CLOUDLOG_LOKI_SERVICE_LABELS": "a b"},
                             "CLOUDLOG_LOKI_SERVICE_LABELS")):
            rt = lambda_runtime.RuntimeAPI()
            try:
                f = self.start(rt=rt, extra=extra)
                self.assertNotEqual(f.wait_exit(), 0)
                self.assertIn("invalid " + name, json.loads(rt.init_errors[0][1])["errorMessage"])
            finally:
                rt.close()

    def test_init_error_for_missing_queue_url(self):
        f = self.start(extra={"CLOUDLOG_QUEUE_URL": ""})
        self.assertNotEqual(f.wait_exit(), 0)
        headers, body = self.rt.init_errors[0]
        self.assertEqual(headers["lambda-runtime-function-error-type"], "Runtime.InitError")
        self.assertIn("CLOUDLOG_QUEUE_URL", json.loads(body)["errorMessage"])

    def ingest_and_receive(self, requests):
        """Posts `requests` events of 4 records each; returns the SQS messages and lines."""
        sent = []
        for n in range(requests):
            recs = [{"message": "pipeline %s %d" % (uuid.uuid4().hex[:6], i),
                     "service": ("api", "web")[i % 2], "timestamp": NOW_MS - i * 1000,
                     "level": "error" if i % 3 == 0 else "info"} for i in range(4)]
            body = gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in recs))
            resp = self.post(http_event(body, {"content-type": "application/x-ndjson",
                                               "content-encoding": "gzip"}))
            self.assertEqual(resp["statusCode"], 202, resp)
            sent += [r["message"] for r in recs]
        msgs = self.receive_all(requests)
        self.assertEqual(len(msgs), requests)
        lines = self.lines_of(msgs)
        self.assertEqual(sorted(json.loads(l)["message"] for l in lines), sorted(sent))
        return msgs, lines

    def stored_lines(self, prefix):
        stored = []
        for o in self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/").get("Contents", []):
            if o["Key"].startswith(prefix + "/_analytics/"):
                continue  # the processor's pattern summaries (docs/analytics.md)
            self.assertRegex(o["Key"], r"^%s/service=(api|web)/dt=\d{4}-\d\d-\d\d/hour=\d\d/"
                             r"\d{8}T\d{6}Z-[0-9a-f]{16}\.ndjson\.gz$" % prefix)
            stored += gzip.decompress(self.s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"]
                                      .read()).decode().splitlines()
        return sorted(stored)

    def test_pipeline_ingestor_sqs_processor_s3(self):
        """Records posted through ingestor events come out in S3 via processor events of
        1 and of 10 SQS records, with the contract's keys and the queued lines."""
        self.start()
        prefix = "p-%s" % uuid.uuid4().hex[:6]
        prt = lambda_runtime.RuntimeAPI()
        try:
            env = self.s3_moto.s3_store_env("s3://%s/%s" % (BUCKET, prefix))
            self.start_function(env, "log_processor", prt)
            queued = []
            for requests in (1, 10):
                msgs, lines = self.ingest_and_receive(requests)
                queued += lines
                kind, out, _ = prt.call({"Records": [lambda_sqs_record(m) for m in msgs]})
                self.assertEqual((kind, out), ("response", {"batchItemFailures": []}))
        finally:
            prt.close()
        self.assertEqual(self.stored_lines(prefix), sorted(queued))
        self.assertEqual(len(queued), 44)

if __name__ == "__main__":
    cltest.main()
