"""log_processor end to end: SQS events (AWS's documented shape, 1 and 10 records) fed
through a loopback Runtime API (lambda_runtime.py) to the real binary, objects written to
S3 in moto; partial batch responses for failing puts (tests/tools/faultproxy.py) and
undecodable messages; a crash mid-batch loses nothing; init and event errors are reported
to the Runtime API."""

import base64
import gzip
import json
import os
import re
import sys
import time
import unittest
import uuid

import awstest
import cltest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
import faultproxy  # noqa: E402

BUCKET = "cl-lambda"
KEY_RE = re.compile(r"^logs/service=([A-Za-z0-9._-]+)/dt=(\d{4}-\d\d-\d\d)/hour=(\d\d)/"
                    r"(\d{8}T\d{6}Z-[0-9a-f]{16})\.ndjson\.gz$")
HOUR_MS = 3600 * 1000
BASE_MS = (int(time.time() * 1000) // HOUR_MS - 3) * HOUR_MS + 1234


def norm(ts_ms, service, message, level="info"):
    return cltest.norm_line(cltest.ms_text(ts_ms), level, service, message)


def sqs_record(lines, encoding="gzip", body=None, receive_count=1):
    """One record of an SQS -> Lambda event carrying a cloudlog queue message."""
    raw = "".join(l + "\n" for l in lines).encode()
    if body is None:
        body = base64.b64encode(gzip.compress(raw)).decode()
    ts = [cltest.ts_ms(json.loads(l)["timestamp"]) for l in lines] or [0]

    def attr(v, t="Number"):
        return {"stringValue": str(v), "stringListValues": [], "binaryListValues": [],
                "dataType": t}
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "AQEB" + uuid.uuid4().hex,
        "body": body,
        "attributes": {"ApproximateReceiveCount": str(receive_count),
                       "SentTimestamp": str(int(time.time() * 1000) - 50),
                       "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                       "ApproximateFirstReceiveTimestamp": str(int(time.time() * 1000))},
        "messageAttributes": {"count": attr(len(lines)), "raw_bytes": attr(len(raw)),
                              "min_ts_ms": attr(min(ts)), "max_ts_ms": attr(max(ts)),
                              "encoding": attr(encoding, "String")},
        "md5OfBody": "098f6bcd4621d373cade4e832627b4f6",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:cloudlog-queue",
        "awsRegion": "us-east-1",
    }


class ProcessorTest(awstest.S3Moto, awstest.FunctionCase, cltest.DaemonTestCase):
    BUCKET = BUCKET
    FUNCTION = "log_processor"

    def setUp(self):
        super().setUp()
        self.prefix = "logs-%s" % uuid.uuid4().hex[:8]

    def start(self, endpoint=None, store=None, extra=None):
        env = self.s3_moto.s3_store_env(store or "s3://%s/%s" % (BUCKET, self.prefix))
        env["AWS_ENDPOINT_URL_S3"] = endpoint or self.s3_moto.url
        env["CLOUDLOG_EMF_DIMENSIONS"] = "Stack=cl-test"
        env.update(extra or {})
        return self.start_function(env)

    def objects(self, analytics=False):
        """The data objects, or (analytics=True) the patterns summaries under _analytics/."""
        keys = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET,
                                                                     Prefix=self.prefix + "/"):
            keys += [o["Key"] for o in page.get("Contents", [])]
        summary = self.prefix + "/_analytics/"
        return sorted(k for k in keys if k.startswith(summary) == analytics)

    def stored_lines(self):
        lines = []
        for k in self.objects():
            data = self.s3.get_object(Bucket=BUCKET, Key=k)["Body"].read()
            lines += gzip.decompress(data).decode().splitlines()
        return sorted(lines)

    def check_key(self, key):
        m = KEY_RE.match("logs/" + key[len(self.prefix) + 1:])
        self.assertIsNotNone(m, key)
        return m

    def invoke(self, records, timeout=90):
        kind, body, headers = self.rt.call({"Records": records}, timeout=timeout)
        self.assertEqual(kind, "response", body)
        return sorted(f["itemIdentifier"] for f in body["batchItemFailures"])

    def test_one_record(self):
        f = self.start()
        lines = [norm(BASE_MS, "api", "one %d" % i) for i in range(3)]
        self.assertEqual(self.invoke([sqs_record(lines)]), [])
        keys = self.objects()
        self.assertEqual(len(keys), 1)
        m = self.check_key(keys[0])
        self.assertEqual(m.group(1), "api")
        self.assertEqual(self.stored_lines(), sorted(lines))
        self.assertEqual(f.metric_sum("ProcessedLogCount"), 3)
        self.assertEqual(f.metric_sum("ObjectsWritten"), 1)
        self.assertGreater(f.metric_sum("StoredBytes"), 0)

    def test_patterns_summary_and_emf(self):
        """Analytics (docs/analytics.md, "On AWS"): each invocation leaves a summary object of
        its patterns' per-minute counts next to the data, and EMF PatternCount and
        ErrorLogCount lines (test_analytics_off: CLOUDLOG_ANALYTICS=off leaves neither)."""
        f = self.start()
        lines = [norm(BASE_MS + i, "api", "user %d logged in from 10.0.0.%d" % (i, i))
                 for i in range(4)]
        self.assertEqual(self.invoke([sqs_record(lines)]), [])
        summaries = self.objects(analytics=True)
        self.assertEqual(len(summaries), 1, summaries)
        self.assertRegex(summaries[0], r"/_analytics/patterns/dt=\d{4}-\d\d-\d\d/hour=\d\d/"
                                       r"\d{8}T\d{6}Z-[0-9a-f]{16}\.ndjson$")
        body = self.s3.get_object(Bucket=BUCKET, Key=summaries[0])["Body"].read().decode()
        docs = [json.loads(l) for l in body.splitlines()]
        counts = [d for d in docs if d["type"] == "count"]
        pats = [d for d in docs if d["type"] == "pattern"]
        self.assertEqual(sum(c["count"] for c in counts), 4)
        self.assertEqual([p["template"] for p in pats], ["user <*> logged in from <*>"])
        self.assertEqual({c["pattern"] for c in counts}, {pats[0]["pattern"]})
        self.assertEqual(f.metric_sum("PatternCount"), 4)
        self.assertEqual(f.metric_sum("ErrorLogCount"), 0)
        doc = [d for d in f.emf() if "PatternCount" in d][0]
        self.assertEqual(doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
                         [["Stack", "Service", "Pattern"]])
        self.assertEqual((doc["Stack"], doc["Service"], doc["Pattern"]),
                         ("cl-test", "api", pats[0]["pattern"]))

    def test_analytics_off(self):
        self.start(extra={"CLOUDLOG_ANALYTICS": "off"})
        lines = [norm(BASE_MS + i, "api", "user %d logged in" % i) for i in range(4)]
        self.assertEqual(self.invoke([sqs_record(lines)]), [])
        self.assertEqual(self.objects(analytics=True), [])
        self.assertEqual(len(self.objects()), 1)

    def test_ten_records_partitions_and_retry_same_keys(self):
        self.start()
        records, want = [], []
        for i in range(10):
            lines = [norm(BASE_MS + (i % 2) * HOUR_MS + j, ("api", "web", "db")[j % 3],
                          "msg %d line %d" % (i, j)) for j in range(6)]
            records.append(sqs_record(lines))
            want += lines
        self.assertEqual(self.invoke(records), [])
        keys = self.objects()
        self.assertEqual(len(keys), 6)  # 3 services x 2 hours
        parts = {(m.group(1), m.group(3)) for m in map(self.check_key, keys)}
        self.assertEqual(len(parts), 6)
        self.assertEqual(self.stored_lines(), sorted(want))
        # Redelivered whole (in another order): the same keys, no duplicates.
        self.assertEqual(self.invoke(list(reversed(records))), [])
        self.assertEqual(self.objects(), keys)
        self.assertEqual(self.stored_lines(), sorted(want))
        # query reads what the processor wrote, like an embedded store.
        rc, out, err = cltest.run_cli(["query", "--store", "s3://%s/%s?endpoint=%s" % (
            BUCKET, self.prefix, self.s3_moto.url), "--since", "6h", "--limit", "0"],
            env=dict(os.environ, **self.s3_moto.env()))
        self.assertEqual(rc, 0, err)
        self.assertEqual(len(out.splitlines()), 60)

    def test_failing_put_reports_exactly_its_messages(self):
        with faultproxy.FaultProxy.start_thread(self.s3_moto.url) as fp:
            fp.add({"method": "PUT", "path": "service%3Dbad", "action": "status", "status": 500,
                    "times": None})
            f = self.start(endpoint=fp.url)
            good = [sqs_record([norm(BASE_MS, "api", "good %d" % i)]) for i in range(4)]
            mixed = [sqs_record([norm(BASE_MS, "api", "mixed %d" % i),
                                 norm(BASE_MS, "bad", "mixed bad %d" % i)]) for i in range(2)]
            only_bad = [sqs_record([norm(BASE_MS, "bad", "only bad")])]
            undecodable = [sqs_record([norm(BASE_MS, "api", "x")], body="not base64!"),
                           sqs_record([norm(BASE_MS, "api", "y")], encoding="zstd"),
                           sqs_record([norm(BASE_MS, "api", "z")],
                                      body=base64.b64encode(b"not gzip").decode())]
            records = good + mixed[:1] + only_bad + undecodable + mixed[1:]
            failed = self.invoke(records)
            want = sorted(r["messageId"] for r in mixed + only_bad + undecodable)
            self.assertEqual(failed, want)
            # The api partition (good + mixed records) was stored; bad was not.
            keys = self.objects()
            self.assertEqual([self.check_key(k).group(1) for k in keys], ["api"])
            stored = "\n".join(self.stored_lines())
            for i in range(4):
                self.assertIn("good %d" % i, stored)
            self.assertNotIn("bad", stored.replace("mixed", ""))
            self.assertGreaterEqual(f.metric_sum("ProcessingErrors", "Reason", "store"), 1)
            self.assertEqual(f.metric_sum("ProcessingErrors", "Reason", "decode"), 3)

    def test_crash_mid_batch_loses_nothing(self):
        records = [sqs_record([norm(BASE_MS + i, s, "crash %d %s" % (i, s)) for s in
                               ("api", "web")]) for i in range(10)]
        want = sorted(l for r in records for l in
                      gzip.decompress(base64.b64decode(r["body"])).decode().splitlines())
        with faultproxy.FaultProxy.start_thread(self.s3_moto.url) as fp:
            # api's put goes through; web's stalls: kill the process while it waits.
            fp.add({"method": "PUT", "path": "service%3Dweb", "action": "stall", "seconds": 60})
            f = self.start(endpoint=fp.url)
            rid = self.rt.invoke({"Records": records}, timeout_s=120)
            deadline = time.monotonic() + 60
            while not any(e["action"] == "stall" for e in fp.log()):
                self.assertLess(time.monotonic(), deadline, "the stalled put never came")
                time.sleep(0.1)
            f.kill()
            self.assertEqual(self.rt.process_died(), [rid])
            kind, body, headers = self.rt.result(rid)
            self.assertEqual(kind, "error")
            self.assertEqual(headers["lambda-runtime-function-error-type"], "Runtime.ExitError")
            self.assertEqual(len(self.objects()), 1)  # only api's object
        # SQS redelivers the batch after the visibility timeout: a new sandbox stores all.
        self.start()
        self.assertEqual(self.invoke(records), [])
        self.assertEqual(self.stored_lines(), want)

    def test_deadline_reports_unstored_messages(self):
        self.start()
        records = [sqs_record([norm(BASE_MS, "api", "late")])]
        kind, body, _ = self.rt.call({"Records": records}, timeout_s=0.5)
        self.assertEqual(kind, "response")
        self.assertEqual([f["itemIdentifier"] for f in body["batchItemFailures"]],
                         [records[0]["messageId"]])
        self.assertEqual(self.objects(), [])

    def test_not_an_sqs_event_is_a_function_error(self):
        self.start()
        kind, body, headers = self.rt.call({"version": "2.0", "rawPath": "/"})
        self.assertEqual(kind, "error")
        self.assertEqual(headers["lambda-runtime-function-error-type"], "Function.InvalidEvent")
        self.assertEqual(body["errorType"], "Function.InvalidEvent")
        self.assertIn("Records", body["errorMessage"])
        self.assertEqual(body["stackTrace"], [])

    def test_init_error_for_missing_store(self):
        f = self.start(extra={"CLOUDLOG_STORE": ""})
        self.assertNotEqual(f.wait_exit(), 0)
        self.assertEqual(len(self.rt.init_errors), 1)
        headers, body = self.rt.init_errors[0]
        self.assertEqual(headers["lambda-runtime-function-error-type"], "Runtime.InitError")
        err = json.loads(body)
        self.assertIn("CLOUDLOG_STORE", err["errorMessage"])
        self.assertEqual(err["errorType"], "Runtime.InitError")

    def test_init_error_for_bad_store_url(self):
        f = self.start(extra={"CLOUDLOG_STORE": "ftp://x"})
        self.assertNotEqual(f.wait_exit(), 0)
        self.assertIn("s3://", json.loads(self.rt.init_errors[0][1])["errorMessage"])


if __name__ == "__main__":
    cltest.main()
