"""Alarms end to end: with 1 s periods, poison messages (an encoding this build cannot
decode) go to the DLQ and DLQNotEmpty and ProcessingErrorRatio go to ALARM; a webhook
receiver on loopback gets the transitions (JSON with a Slack `text`); after the cause is
fixed and the DLQ redriven both return to OK. GET /v1/alarms and
`cloudlog alarms` (also once the daemon has stopped) show it. Bad alarm configs stop the
daemon at start-up."""

import gzip
import http.server
import json
import os
import sqlite3
import threading
import time

import cltest

BASE_MS = 1767268800000  # 2026-01-01T12:00:00Z

CONFIG = {
    "Alarms": [
        {"AlarmName": "DLQNotEmpty", "Period": 1},
        # any error in the last 5 s: the errors come in bursts (one per receive)
        {"AlarmName": "ProcessingErrorRatio", "Period": 1, "EvaluationPeriods": 5,
         "DatapointsToAlarm": 1},
        {"AlarmName": "QueueDepthHigh", "Enabled": False},
    ]
}


class Receiver:
    """A webhook receiver on 127.0.0.1 in a thread; keeps every JSON body posted."""

    def __init__(self):
        self.bodies = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(n)
                with outer.lock:
                    outer.bodies.append((self.headers.get("Content-Type"), json.loads(data)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def transitions(self, name):
        with self.lock:
            return [(b["old_state"], b["new_state"]) for _, b in self.bodies
                    if b.get("alarm") == name]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


wait_for = cltest.wait_for


def ndjson(prefix, n):
    return "".join(json.dumps({"ts": BASE_MS + i * 1000, "service": "alarms", "level": "error",
                               "message": "%s %d" % (prefix, i)}) + "\n" for i in range(n))


def insert_messages(db_path, n, encoding):
    """Inserts n messages of 5 valid normalized records each, with the given encoding
    attribute, straight into queue.db; returns their ids."""
    now = int(time.time() * 1000)
    db = sqlite3.connect(db_path, timeout=30)
    ids = []
    try:
        db.execute("PRAGMA busy_timeout = 30000")
        for k in range(n):
            lines = [cltest.norm_line(cltest.ms_text(BASE_MS + i), "error", "alarms",
                                      "poison %d %d" % (k, i)) for i in range(5)]
            raw = "".join(l + "\n" for l in lines).encode()
            ids.append(cltest.insert_message(db, sqlite3.Binary(gzip.compress(raw)), 5, len(raw),
                                             BASE_MS, BASE_MS + 4, encoding, now, now))
        db.commit()
    finally:
        db.close()
    return ids


def states(d):
    st, _, body = d.request("GET", "/v1/alarms")
    assert st == 200, (st, body)
    doc = json.loads(body)
    return {a["name"]: a["state"] for a in doc["alarms"]}, doc


class Alarms(cltest.DaemonTestCase):
    def write_config(self, doc):
        path = os.path.join(cltest.mkdtemp("cl-alarmcfg-"), "alarms.json")
        with open(path, "w") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc))
        return path

    def test_poison_fires_and_redrive_recovers(self):
        rx = Receiver()
        self.addCleanup(rx.close)
        started_min = int(time.time()) // 60
        d = self.daemon(args=["--alarms-config", self.write_config(CONFIG),
                              "--alarm-webhook", rx.url, "--flush-age", "300ms",
                              "--retry-base", "100ms", "--retry-max", "1s",
                              "--max-receive-count", "2", "--visibility-timeout", "5s"])
        wait_for(lambda: states(d)[0].get("DLQNotEmpty") == "OK", 30, "DLQNotEmpty OK", d)
        s, doc = states(d)
        self.assertNotIn("QueueDepthHigh", s, "a disabled alarm is not run")
        # 60 s periods aligned to the minute: no datapoint until the first minute boundary
        if int(time.time()) // 60 == started_min:
            self.assertEqual(s["OldestMessageTooOld"], "INSUFFICIENT_DATA")
        else:
            self.assertIn(s["OldestMessageTooOld"], ("INSUFFICIENT_DATA", "OK"))
        rule = [a for a in doc["alarms"] if a["name"] == "ProcessingErrorRatio"][0]["rule"]
        self.assertEqual((rule["Period"], rule["EvaluationPeriods"], rule["DatapointsToAlarm"],
                          rule["DenominatorMetricName"]), (1, 5, 1, "ProcessedLogCount"))
        self.assertEqual(d.request("POST", "/v1/alarms")[0], 405)

        # Poison: messages whose encoding attribute this build cannot decode go to the
        # DLQ at their first receive (a store outage no longer does: it opens the
        # processor's circuit breaker instead, see test_process_faults.py).
        ids = insert_messages(d.db_path, 3, "x-unknown")
        wait_for(lambda: states(d)[0].get("ProcessingErrorRatio") == "ALARM",
                 60, "ProcessingErrorRatio in ALARM", d)
        wait_for(lambda: states(d)[0].get("DLQNotEmpty") == "ALARM",
                 60, "DLQNotEmpty in ALARM", d)
        # The operator fixes the cause (here: the encoding) before the redrive.
        db = sqlite3.connect(d.db_path, timeout=30)
        try:
            db.execute("UPDATE dlq SET encoding = 'gzip' WHERE id IN (%s)"
                       % ",".join(str(i) for i in ids))
            db.commit()
        finally:
            db.close()
        _, doc = states(d)
        dlq = [a for a in doc["alarms"] if a["name"] == "DLQNotEmpty"][0]
        self.assertTrue(dlq["reason"].startswith("Threshold Crossed: 1 out of the last 1 "
                                                 "datapoints ["), dlq["reason"])
        self.assertIn("was greater than the threshold (0.0)", dlq["reason"])
        wait_for(lambda: ("OK", "ALARM") in rx.transitions("DLQNotEmpty")
                 and [t for t in rx.transitions("ProcessingErrorRatio") if t[1] == "ALARM"],
                 30, "webhook calls for the ALARM transitions", d)

        in_dlq = cltest.count_rows(d.db_path, "dlq")
        how = cltest.dlq_redrive(d.data_dir)
        print("redrive by %s of %d message(s)" % (how, in_dlq), flush=True)
        cltest.wait_drained(d.data_dir, timeout=60, dlq=0, daemon=d)
        if how == "cli":  # the CLI's redrive shows in the daemon's Redriven counter
            st, _, text = d.request("GET", "/metrics")
            line = [l for l in text.decode().splitlines()
                    if l.startswith("cloudlog_redriven_total ")]
            self.assertEqual(line, ["cloudlog_redriven_total %d" % in_dlq])
        wait_for(lambda: all(states(d)[0].get(n) == "OK"
                             for n in ("DLQNotEmpty", "ProcessingErrorRatio")),
                 60, "both alarms back to OK", d)
        wait_for(lambda: rx.transitions("DLQNotEmpty")[-1:] == [("ALARM", "OK")],
                 30, "the webhook call for DLQNotEmpty ALARM -> OK", d)
        with rx.lock:
            ctype, body = [x for x in rx.bodies if x[1]["alarm"] == "DLQNotEmpty"][-1]
        self.assertEqual(ctype, "application/json")
        self.assertEqual(sorted(body), ["alarm", "new_state", "old_state", "reason", "text",
                                        "timestamp", "timestamp_ms"])
        self.assertIn("*DLQNotEmpty* is OK (was ALARM)", body["text"])

        _, doc = states(d)
        hist = [(h["name"], h["old_state"], h["new_state"]) for h in doc["history"]]
        self.assertIn(("DLQNotEmpty", "ALARM", "OK"), hist)
        self.assertIn(("DLQNotEmpty", "OK", "ALARM"), hist)
        self.assertLess(hist.index(("DLQNotEmpty", "ALARM", "OK")),
                        hist.index(("DLQNotEmpty", "OK", "ALARM")), "history is newest first")
        self.assertIn("DLQNotEmpty: OK -> ALARM: Threshold Crossed", d.log_text())
        self.check_cli(d.data_dir)
        d.stop()
        self.check_cli(d.data_dir)  # without the daemon: the last state it wrote

        # A restart keeps states and history (DATA/alarms.json is read back): DLQNotEmpty
        # is OK at once, not INSUFFICIENT_DATA, and its next evaluations (1 s periods)
        # send no INSUFFICIENT_DATA -> OK notification.
        sent = len(rx.transitions("DLQNotEmpty"))
        d2 = self.daemon(data_dir=d.data_dir, args=d.args)
        s, doc = states(d2)
        self.assertEqual(s["DLQNotEmpty"], "OK")
        hist = [(h["name"], h["old_state"], h["new_state"]) for h in doc["history"]]
        self.assertIn(("DLQNotEmpty", "OK", "ALARM"), hist)
        self.assertIn("state(s) restored from", d2.log_text())
        time.sleep(2.5)
        self.assertEqual(states(d2)[0]["DLQNotEmpty"], "OK")
        self.assertEqual(len(rx.transitions("DLQNotEmpty")), sent)
        d2.stop()

    def check_cli(self, data_dir):
        rc, out, err = cltest.run_cli(["alarms", "--data", data_dir])
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split()[:4], ["NAME", "STATE", "SINCE", "REASON"])
        rows = {l.split()[0]: l.split()[1] for l in lines[1:]}
        self.assertEqual(rows["DLQNotEmpty"], "OK")
        self.assertEqual(rows["ProcessingErrorRatio"], "OK")
        rc, out, err = cltest.run_cli(["alarms", "--data", data_dir, "--history"])
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"DLQNotEmpty\s+ALARM\s+OK\s+Threshold Crossed")
        rc, out, err = cltest.run_cli(["alarms", "--data", data_dir, "--json"])
        self.assertEqual(rc, 0, err)
        self.assertIn("DLQNotEmpty", [a["name"] for a in json.loads(out)["alarms"]])

    def test_bad_configs_refuse_to_start(self):
        for doc, msg in (("{\"Alarms\":[{\"AlarmName\":\"X\",\"MetricName\":\"Nope\","
                          "\"Threshold\":1}]}", "unknown metric Nope"),
                         ("{\"Alarms\":[{\"AlarmName\":\"DLQNotEmpty\",\"Perod\":1}]}",
                          "unknown member"),
                         ("{not json", "invalid JSON")):
            data = cltest.mkdtemp("cl-data-")
            rc, out = cltest.expect_refusal(["serve", "--listen", "127.0.0.1:0", "--data", data,
                                             "--alarms-config", self.write_config(doc)])
            self.assertEqual(rc, 1, out)
            self.assertIn(msg, out)

    def test_cli_without_state(self):
        rc, out, err = cltest.run_cli(["alarms", "--data", cltest.mkdtemp("cl-empty-")])
        self.assertEqual(rc, 1)
        self.assertIn("alarms.json", err)

    def test_cli_unreadable_state(self):
        """DATA/alarms.json that opens but cannot be read (a directory) is a read error,
        not an empty state printed with exit status 0."""
        data = cltest.mkdtemp("cl-data-")
        os.mkdir(os.path.join(data, "alarms.json"))
        for extra in ([], ["--json"]):
            rc, out, err = cltest.run_cli(["alarms", "--data", data] + extra)
            self.assertEqual((rc, out), (1, ""), err)
            self.assertIn("cannot read %s/alarms.json: Is a directory" % data, err)
        # over the daemon's 16 MiB limit for the file: refused, not cut short
        os.rmdir(os.path.join(data, "alarms.json"))
        with open(os.path.join(data, "alarms.json"), "wb") as f:
            f.write(b'{"alarms":[]}' + b" " * (16 << 20))
        rc, out, err = cltest.run_cli(["alarms", "--data", data, "--json"])
        self.assertEqual((rc, out), (1, ""), err)
        self.assertIn("alarms.json is larger than 16777216 bytes", err)


if __name__ == "__main__":
    cltest.main()
