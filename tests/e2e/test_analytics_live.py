"""Patterns and anomalies inline in the daemon's processor (issue 17, docs/analytics.md):
posted logs produce patterns that `cloudlog patterns`, GET /v1/patterns and Loki's
/loki/api/v1/patterns show with the same counts; the ids survive a restart; an injected
error burst after 90 quiet minutes raises the LogAnomaly alarm, whose webhook call says
what happened, and `cloudlog anomalies` / GET /v1/anomalies list it. --analytics off
answers 503 on the read routes."""

import json
import os
import time
import urllib.parse

import cltest
from test_alarms import Receiver

wait_for = cltest.wait_for
MIN_MS = 60000


def record(ts, level, service, message):
    return json.dumps({"timestamp": ts, "level": level, "service": service,
                       "message": message}) + "\n"


def web_logs(now, n):
    """n records of two templates for service web, over the last n seconds."""
    out = []
    for i in range(n):
        ts = now - (n - i) * 1000
        if i % 4 == 0:
            out.append(record(ts, "error", "web", "upstream 10.1.2.%d:8080 timed out after %d ms"
                              % (i % 250, 100 + i)))
        else:
            out.append(record(ts, "info", "web", "GET /items/%d answered %d in %d ms"
                              % (i, 200, i % 50)))
    return "".join(out)


def post_quiet_history(d, start, minutes):
    """minutes quiet minutes of service shop from start (30 records a minute, one an
    error), in time order, each 10-minute chunk processed before the next is posted."""
    for chunk in range(0, minutes, 10):
        body = []
        for m in range(chunk, min(chunk + 10, minutes)):
            for i in range(30):
                lvl, msg = ("error", "cache miss for key k%d" % i) if i == 0 else \
                    ("info", "served request %d in %d ms" % (m * 30 + i, i))
                body.append(record(start + m * MIN_MS + i * 2000, lvl, "shop", msg))
        st = d.post_logs("".join(body), content_type="application/x-ndjson")[0]
        assert st == 202, st
        wait_for(lambda: cltest.count_rows(d.db_path, "messages") == 0, 30,
                 "chunk processed", d)


def post_burst(d, at):
    """The minute at has 20 errors of a pattern never seen before; the next minute is quiet
    again, and a record a minute later closes it."""
    body = []
    for i in range(30):
        ts = at + i * 2000
        body.append(record(ts, "error", "shop", "payment gateway refused card %d: code %d"
                           % (i, 51)) if i < 20 else
                    record(ts, "info", "shop", "served request %d in %d ms" % (i, i)))
    for i in range(30):
        body.append(record(at + MIN_MS + i * 2000, "info", "shop",
                           "served request %d in %d ms" % (i, i)))
    body.append(record(at + 2 * MIN_MS, "info", "shop", "served request 1 in 1 ms"))
    st = d.post_logs("".join(body), content_type="application/x-ndjson")[0]
    assert st == 202, st


def patterns_http(d, query):
    st, _, body = d.request("GET", "/v1/patterns?" + query)
    assert st == 200, (st, body)
    return json.loads(body)["patterns"]


def by_template(patterns):
    return {p["template"]: p for p in patterns}


class AnalyticsLive(cltest.DaemonTestCase):
    ARGS = ["--flush-age", "200ms", "--processor-workers", "1"]

    def test_posted_logs_make_patterns_with_stable_ids(self):
        d = self.daemon(args=self.ARGS)
        now = int(time.time() * 1000)
        st, _, js = d.post_logs(web_logs(now, 200), content_type="application/x-ndjson")
        self.assertEqual(st, 202, js)
        pats = wait_for(lambda: [p for p in patterns_http(d, "service=web&since=1h")
                                 if sum(x["count"] for x in patterns_http(
                                     d, "service=web&since=1h")) == 200],
                        30, "200 records counted in /v1/patterns", d)
        t = by_template(pats)
        self.assertEqual(sorted(t), ["GET <*> answered <*> in <*>",
                                     "upstream <*> timed out after <*>"], t)
        self.assertEqual(t["upstream <*> timed out after <*>"]["count"], 50)
        self.assertEqual(t["upstream <*> timed out after <*>"]["errors"], 50)
        self.assertEqual(t["GET <*> answered <*> in <*>"]["count"], 150)
        self.assertIn('"service":"web"', t["GET <*> answered <*> in <*>"]["example"])
        errs = patterns_http(d, "service=web&level=error%2B")
        self.assertEqual([p["template"] for p in errs], ["upstream <*> timed out after <*>"])

        rc, out, err = cltest.run_cli(["patterns", "--data", d.data_dir, "--service", "web",
                                       "--json"])
        self.assertEqual(rc, 0, err)
        self.assertEqual({p["id"]: p["count"] for p in json.loads(out)["patterns"]},
                         {p["id"]: p["count"] for p in pats})
        rc, out, err = cltest.run_cli(["patterns", "--data", d.data_dir, "--level", "error"])
        self.assertEqual(rc, 0, err)
        self.assertIn("upstream <*> timed out after <*>", out)
        self.assertIn("e.g. {", out)
        self.assertNotIn("answered", out)

        q = urllib.parse.urlencode({"query": '{service_name="web"}',
                                    "start": str((now - 3600000) * 1000000),
                                    "end": str((now + 60000) * 1000000), "step": "60s"})
        st, _, body = d.request("GET", "/loki/api/v1/patterns?" + q)
        self.assertEqual(st, 200, body)
        loki = json.loads(body)
        self.assertEqual(loki["status"], "success")
        sums = {p["pattern"]: sum(s[1] for s in p["samples"]) for p in loki["data"]}
        self.assertEqual(sums, {"GET <_> answered <_> in <_>": 150,
                                "upstream <_> timed out after <_>": 50})
        st, _, text = d.request("GET", "/metrics")
        self.assertIn(b'cloudlog_anomaly_score{service="web",series="error_ratio"}', text)
        self.assertIn(b"cloudlog_anomalies_detected_total", text)
        self.assertEqual(d.request("GET", "/v1/patterns?limit=0")[0], 400)
        self.assertEqual(d.request("GET", "/v1/patterns?since=yesterday")[0], 400)
        self.assertEqual(d.request("POST", "/v1/patterns")[0], 405)

        # A restart relearns from scratch: the same messages get the same ids (a hash of
        # the template), so the counts add up under the ids the catalog already has.
        ids = {p["template"]: p["id"] for p in pats}
        d.stop()
        d2 = self.daemon(data_dir=d.data_dir, args=self.ARGS)
        now2 = int(time.time() * 1000)
        d2.post_logs(web_logs(now2, 200), content_type="application/x-ndjson")
        wait_for(lambda: sum(p["count"] for p in patterns_http(d2, "service=web")) == 400,
                 30, "400 records counted after the restart", d2)
        again = by_template(patterns_http(d2, "service=web"))
        self.assertEqual({k: v["id"] for k, v in again.items()}, ids)
        self.assertEqual(again["upstream <*> timed out after <*>"]["count"], 100)

    def test_analytics_off(self):
        d = self.daemon(args=["--analytics", "off"])
        st, _, body = d.request("GET", "/v1/patterns")
        self.assertEqual(st, 503, body)
        self.assertIn(b"analytics is off", body)
        self.assertFalse(os.path.exists(os.path.join(d.data_dir, "analytics.db")))

    def test_error_burst_raises_anomaly_alarm(self):
        rx = Receiver()
        self.addCleanup(rx.close)
        cfg = os.path.join(cltest.mkdtemp("cl-ancfg-"), "alarms.json")
        with open(cfg, "w") as f:
            json.dump({"Alarms": [{"AlarmName": "LogAnomaly", "Period": 1}]}, f)
        d = self.daemon(args=self.ARGS + ["--alarms-config", cfg, "--alarm-webhook", rx.url])
        start = (int(time.time() * 1000) // MIN_MS - 100) * MIN_MS
        post_quiet_history(d, start, 90)
        self.assertEqual([t for t in rx.transitions("LogAnomaly") if t[1] == "ALARM"], [],
                         "no anomaly in the quiet minutes")
        post_burst(d, start + 90 * MIN_MS)
        wait_for(lambda: [t for t in rx.transitions("LogAnomaly") if t[1] == "ALARM"], 60,
                 "the LogAnomaly webhook call", d)
        with rx.lock:
            body = [b for _, b in rx.bodies if b["alarm"] == "LogAnomaly"
                    and b["new_state"] == "ALARM"][0]
        self.assertIn("shop", body["reason"])
        self.assertTrue("were errors" in body["reason"] or "never seen before" in body["reason"],
                        body["reason"])

        st, _, raw = d.request("GET", "/v1/anomalies?since=3h")
        self.assertEqual(st, 200, raw)
        an = json.loads(raw)["anomalies"]
        kinds = {a["series"] for a in an}
        self.assertIn("error_ratio", kinds, an)
        self.assertIn("new_pattern", kinds, an)
        ratio = [a for a in an if a["series"] == "error_ratio"][0]
        self.assertAlmostEqual(ratio["observed"], 20 / 30, places=3)
        self.assertLess(ratio["expected"], 0.1)
        self.assertLess(ratio["band"][1], ratio["observed"])
        new = [p for p in patterns_http(d, "service=shop&since=3h&level=error")
               if p["template"].startswith("payment gateway")]
        self.assertEqual(ratio["patterns"], [new[0]["id"]], ratio)  # the errors' pattern
        rc, out, err = cltest.run_cli(["anomalies", "--data", d.data_dir, "--since", "3h"])
        self.assertEqual(rc, 0, err)
        self.assertIn("66.7% of service shop's records were errors (20 of 30)", out)
        self.assertIn('"payment gateway refused card <*>: code <*>"', out)
        st, _, text = d.request("GET", "/v1/alarms")
        self.assertIn(b'"Kind":"Anomaly"', text)


if __name__ == "__main__":
    cltest.main()
