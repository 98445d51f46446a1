"""OTLP/HTTP logs end to end with the real OpenTelemetry JS SDK and its exporters
(@opentelemetry/exporter-logs-otlp-proto and -otlp-http, tests/clients/otlp_send.js):
records go through POST /v1/logs, the queue and the processor into stored objects, which
are checked field by field; a record over --max-record comes back as OTLP's partial
success (rejectedLogRecords + errorMessage); no key is refused."""

import gzip
import json

import cltest
import shippers

EXPECTED = {
    "hello from otlp": {
        "timestamp": "2026-12-06T10:20:30.123Z", "level": "info", "service": "checkout-api",
        "trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331",
        "user_id": 42, "http.method": "GET", "ok": True, "ratio": 0.5, "tags": ["a", "b"],
        "deployment.environment": "e2e", "scope": "e2e-scope",
    },
    "map body": {
        "timestamp": "2026-12-06T10:20:31.000Z", "level": "error", "service": "checkout-api",
        "code": 500, "nested": {"deep": [1, 2]}, "deployment.environment": "e2e",
        "scope": "e2e-scope",
    },
    "text severity only": {
        "timestamp": "2026-12-06T10:20:32.000Z", "level": "warn", "service": "checkout-api",
        "deployment.environment": "e2e", "scope": "e2e-scope",
    },
}


class OtlpClients(shippers.ClientTestCase):
    MODULE = "@opentelemetry/exporter-logs-otlp-proto"

    def send(self, d, encoding, compression, key=shippers.KEY, big=None):
        args = [self.url(d, "/v1/logs"), key, encoding, compression]
        if big:
            args.append(big)
        return shippers.run_node("otlp_send.js", *args)

    def check_stored(self, d):
        records = shippers.stored_records(d)
        self.assertEqual(len(records), 3, records)
        for rec in records:
            want = dict(EXPECTED[rec["message"]], message=rec["message"])
            self.assertEqual(rec, want)
        return records

    def check_partial(self, out):
        self.assertEqual(out["results"], [{"code": 0, "error": None}], out)
        partial = [w for w in out["warnings"] if "Partial Success" in w]
        self.assertEqual(len(partial), 1, out)
        body = json.loads(partial[0].split("response:", 1)[1])
        self.assertEqual(int(body["rejectedLogRecords"]), 1, body)
        self.assertIn("record 3", body["errorMessage"])
        self.assertIn("record too large", body["errorMessage"])

    def test_protobuf_gzip_partial_success(self):
        d = self.start_daemon()
        self.check_partial(self.send(d, "proto", "gzip", big=8000))
        self.check_stored(d)

    def test_json_partial_success(self):
        d = self.start_daemon()
        self.check_partial(self.send(d, "json", "none", big=8000))
        self.check_stored(d)

    def test_json_gzip_full_success(self):
        d = self.start_daemon()
        out = self.send(d, "json", "gzip")
        self.assertEqual(out["results"], [{"code": 0, "error": None}], out)
        self.assertFalse([w for w in out["warnings"] if "Partial" in w], out)
        self.check_stored(d)

    def test_no_key_refused(self):
        d = self.start_daemon()
        for encoding in ("proto", "json"):
            out = self.send(d, encoding, "none", key="")
            self.assertEqual(out["results"][0]["code"], 1, out)
            self.assertIn("Unauthorized", out["results"][0]["error"], out)
        self.assertEqual(cltest.count_rows(d.db_path), 0)


class OtlpAnswers(cltest.DaemonTestCase):
    """Answers to OTLP requests the SDK does not make: bad data, an empty request."""

    def post(self, d, body, ct, encoding=None):
        return d.request("POST", "/v1/logs", body=body,
                         headers=dict({"Content-Type": ct},
                                      **({"Content-Encoding": encoding} if encoding else {})))

    def test_bad_protobuf_400_status(self):
        d = self.daemon()
        st, hd, body = self.post(d, b"\x0a\xff\xff\xff\xff\x0f", "application/x-protobuf")
        self.assertEqual(st, 400)
        self.assertEqual(hd.get("content-type"), "application/x-protobuf")
        # google.rpc.Status: field 1 (code) = 3 INVALID_ARGUMENT, field 2 the message.
        self.assertEqual(body[:2], b"\x08\x03", body)
        self.assertIn(b"ExportLogsServiceRequest", body)

    def test_empty_requests_succeed(self):
        d = self.daemon()
        st, hd, body = self.post(d, b"", "application/x-protobuf")
        self.assertEqual((st, body), (200, b""))
        st, hd, body = self.post(d, gzip.compress(b'{"resourceLogs":[]}'), "application/json",
                                 "gzip")
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(body), {})

    def test_json_all_rejected_400(self):
        d = self.daemon()
        body = {"resourceLogs": [{"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "x"}}]},
            "scopeLogs": [{"logRecords": [{"timeUnixNano": "1", "body": {
                "kvlistValue": {"values": [{"key": "message", "value": {"intValue": "5"}}]}}}]}]}]}
        st, hd, out = self.post(d, json.dumps(body).encode(), "application/json")
        self.assertEqual(st, 400, out)
        js = json.loads(out)
        self.assertEqual(js["code"], 3, js)
        self.assertIn("message must be a string", js["message"])


if __name__ == "__main__":
    cltest.main()
