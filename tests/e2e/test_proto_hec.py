"""Splunk HEC end to end with the real splunk-logging client (tests/clients/hec_send.js):
concatenated events on /services/collector/event(/1.0) into stored objects checked field
by field; a record over --max-record answers HEC's 400 "Invalid data format" with its
invalid-event-number while the valid events are stored (as HEC indexes the events before
a bad one); HEC's 401/403 answers; /services/collector/raw; the health endpoint."""

import json

import cltest
import shippers

EXPECTED = {
    "hec hello": {"timestamp": "2026-12-06T12:40:30.123Z", "level": "warn", "service": "default",
                  "host": "web-1", "source": "app.js", "sourcetype": "nodejs", "index": "main"},
    "hec second": {"timestamp": "2026-12-06T12:40:31.000Z", "level": "error",
                   "service": "default", "host": "web-2"},
}


class SplunkHec(shippers.ClientTestCase):
    MODULE = "splunk-logging"

    def send(self, d, path, token=shippers.KEY, big=None):
        args = ["http://%s:%d" % (cltest.HOST, d.port), token, path] + ([big] if big else [])
        return shippers.run_node("hec_send.js", *args)

    def check_stored(self, d):
        records = shippers.stored_records(d)
        self.assertEqual(len(records), 2, records)
        for rec in records:
            self.assertEqual(rec, dict(EXPECTED[rec["message"]], message=rec["message"]))

    def test_events_success(self):
        d = self.start_daemon()
        out = self.send(d, "/services/collector/event")
        self.assertEqual((out["status"], out["body"]), (200, {"text": "Success", "code": 0}), out)
        self.assertEqual(out["errors"], [])
        self.check_stored(d)

    def test_invalid_event_number(self):
        d = self.start_daemon()
        out = self.send(d, "/services/collector/event/1.0", big=8000)
        self.assertEqual(out["status"], 400, out)
        body = out["body"]
        self.assertEqual((body["text"], body["code"], body["invalid-event-number"]),
                         ("Invalid data format", 6, 2), body)
        self.assertIn("record too large", body["error"])
        self.assertEqual(out["errors"], ["Invalid data format code=6"])
        self.check_stored(d)

    def test_tokens(self):
        d = self.start_daemon()
        out = self.send(d, "/services/collector/event", token="wrong-token")
        self.assertEqual((out["status"], out["body"]["code"]), (403, 4), out)
        st, _, body = d.request("POST", "/services/collector/event", body=b'{"event":"x"}')
        self.assertEqual((st, json.loads(body)["code"]), (401, 2), body)
        st, _, body = d.request("POST", "/services/collector/event", body=b'{"event":"x"}',
                                headers={"Authorization": "Bearer " + shippers.KEY})
        self.assertEqual((st, json.loads(body)), (200, {"text": "Success", "code": 0}), body)
        cltest.wait_drained(d.data_dir, timeout=60, dlq=0, daemon=d)

    def test_raw_and_health(self):
        d = self.start_daemon()
        # splunk-logging pointed at the raw endpoint: its JSON events become one raw line
        out = self.send(d, "/services/collector/raw")
        self.assertEqual((out["status"], out["body"]), (200, {"text": "Success", "code": 0}), out)
        st, _, body = d.request("GET", "/services/collector/health")
        self.assertEqual((st, json.loads(body)), (200, {"text": "HEC is healthy", "code": 17}))
        records = shippers.stored_records(d)
        self.assertEqual(len(records), 1, records)
        line = records[0]["message"]
        self.assertTrue(line.startswith('{"time":"1796560830.123","host":"web-1"'), line)
        self.assertEqual(line.count('"event":'), 2, line)
        st, _, body = d.request("POST", "/services/collector/event", body=b"",
                                headers={"Authorization": "Splunk " + shippers.KEY})
        self.assertEqual((st, json.loads(body)), (400, {"text": "No data", "code": 5}), body)

    def test_event_mapping(self):
        """HEC's members in the record's order, the first of a name winning: the event's
        time over the event object's timestamp, the event's own host over HEC's host, HEC's
        members over fields; a number event is its JSON text, a string event the message."""
        d = self.start_daemon()
        body = (b'{"time":1796560830.5,"host":"hec-host","source":"s1","event":'
                b'{"message":"obj","timestamp":"2020-01-01T00:00:00Z","host":"own","n":1},'
                b'"fields":{"source":"field-src","f":"x","n":2}}\n'
                b'{"event":42,"sourcetype":"st"} {"time":"1796560831","event":"plain",'
                b'"index":"ix","fields":{"message":"not me"}}')
        st, _, out = d.request("POST", "/services/collector/event", body=body,
                               headers={"Authorization": "Splunk " + shippers.KEY})
        self.assertEqual((st, json.loads(out)), (200, {"text": "Success", "code": 0}), out)
        recs = shippers.by_message(shippers.stored_records(d))
        self.assertEqual(recs["obj"], {"timestamp": "2026-12-06T12:40:30.500Z", "level": "info",
                                       "service": "default", "message": "obj", "host": "own",
                                       "n": 1, "source": "s1", "f": "x"})
        self.assertEqual(recs["42"]["sourcetype"], "st")
        self.assertEqual(recs["plain"]["timestamp"], "2026-12-06T12:40:31.000Z")
        self.assertEqual(recs["plain"]["index"], "ix")


if __name__ == "__main__":
    cltest.main()
