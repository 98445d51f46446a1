"""End-to-end tests of the Loki read API (/loki/api/v1/..., docs/loki.md) on the real
daemon.

LogQL semantics: a table of queries (selector, each line filter, json and logfmt, label
filters, each metric function, grouping, topk/bottomk) whose answers are compared with
values computed here, independently, from the stored objects (gzip -dc of DATA/logs).
API shapes: each endpoint's response against Loki's documented JSON, including what
Grafana's Loki data source sends: the health check (vector(1)+vector(1)), Explore's
query_range (direction=backward, limit, step), the logs volume histogram
(sum by (level) (count_over_time(...[step]))), POST forms, API keys as Bearer or Basic.

Set CL_E2E_SEED to replay a run; the seed is printed."""

import base64
import json
import math
import os
import random
import re
import threading
import time
import urllib.parse

import cltest

NOW_MS = int(time.time() * 1000) // 1000 * 1000
SERVICES = ["api", "web", "billing"]
LEVELS = ["debug", "info", "warn", "error"]
USERS = ["alice", "bob", "carol"]
STATUSES = [200, 201, 404, 500, 503]
WORDS = ["request timeout", "login ok", "payment failed", "cache miss", "slow query"]
TOOK = {"120ms": 0.12, "1.5s": 1.5, "3s": 3, "250ms": 0.25}
RANGE = "30m"
RANGE_S = 1800


def make_records(rng, n=600):
    recs = []
    for i in range(n):
        took = rng.choice(sorted(TOOK))
        recs.append({
            "timestamp": cltest.ms_text(NOW_MS - rng.randrange(60000, 20 * 60000)),
            "level": rng.choice(LEVELS), "service": rng.choice(SERVICES),
            "message": "%s #%d took=%s" % (rng.choice(WORDS), i, took),
            "user": rng.choice(USERS), "status": rng.choice(STATUSES),
            "latency": rng.randrange(1, 2000) / 10.0, "id": i,
        })
    return recs


def stored_records(data_dir):
    """Every stored record (independent of the engine): (ts_ms, line, parsed JSON)."""
    out = []
    objects, _, _ = cltest.store_scan(data_dir)
    for o in objects:
        for line in cltest.object_lines(o["path"]):
            j = json.loads(line)
            out.append((cltest.ts_ms(j["timestamp"]), line, j))
    return out


def logfmt_took(j):
    m = re.search(r"took=(\S+)", j["message"])
    return TOOK[m.group(1)]


def quantile(q, vals):
    vals = sorted(vals)
    rank = q * (len(vals) - 1)
    lo = int(math.floor(rank))
    hi = min(lo + 1, len(vals) - 1)
    w = rank - lo
    return vals[lo] * (1 - w) + vals[hi] * w


def group(rows, key):
    g = {}
    for r in rows:
        g.setdefault(key(r), []).append(r)
    return g


def stream_key(r):
    return (("level", r[2]["level"]), ("service", r[2]["service"]))


class LokiApi(cltest.DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        seed = int(os.environ.get("CL_E2E_SEED", str(int(time.time() * 1000) % 1000000)))
        print("CL_E2E_SEED=%d" % seed, flush=True)
        cls.recs = make_records(random.Random(seed))
        cls.d = cltest.Daemon(args=["--flush-age", "500ms", "--flush-size", "16KiB"]).start()
        try:
            for i in range(0, len(cls.recs), 100):
                chunk = cls.recs[i:i + 100]
                st, _, js = cls.d.post_logs(chunk)
                assert st == 202 and js.get("accepted") == len(chunk), (st, js)
            cltest.wait_drained(cls.d.data_dir, timeout=120, dlq=0, daemon=cls.d)
            cls.rows = stored_records(cls.d.data_dir)
        except BaseException:
            cls.d.kill()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    # -- helpers -------------------------------------------------------------------
    def get(self, path, params=None, headers=None, method="GET", d=None):
        d = d or self.d
        url = "/loki/api/v1/" + path
        body = None
        h = dict(headers or {})
        if params and method == "GET":
            url += "?" + urllib.parse.urlencode(params)
        elif params:
            body = urllib.parse.urlencode(params).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        st, hd, data = d.request(method, url, body=body, headers=h, timeout=60)
        return st, hd, data

    def ok(self, path, params=None, **kw):
        st, hd, data = self.get(path, params, **kw)
        self.assertEqual(st, 200, "%s %s -> %d %s" % (path, params, st, data[:500]))
        self.assertTrue(hd["content-type"].startswith("application/json"), hd)
        return json.loads(data)

    def instant(self, query):
        js = self.ok("query", {"query": query, "time": str(NOW_MS * 1000000)})
        self.assertEqual(js["status"], "success")
        self.assertEqual(js["data"]["resultType"], "vector")
        self.assertIn("summary", js["data"]["stats"])
        got = {}
        for s in js["data"]["result"]:
            self.assertEqual(s["value"][0], NOW_MS / 1000)
            got[tuple(sorted(s["metric"].items()))] = float(s["value"][1])
        return got

    def assertVector(self, got, want, query):
        if callable(want):
            want(got)
            return
        self.assertEqual(sorted(got), sorted(want), query)
        for k in want:
            self.assertTrue(math.isclose(got[k], want[k], rel_tol=1e-9, abs_tol=1e-9),
                            "%s %s: %s != %s" % (query, k, got[k], want[k]))

    def rows_where(self, pred):
        return [r for r in self.rows if pred(r[2])]

    # -- LogQL semantics against the stored NDJSON ------------------------------------
    def test_stored_records(self):
        self.assertEqual(len(self.rows), len(self.recs))

    def test_log_query_semantics(self):
        """Selector, each line filter, parsers and label filters: the lines query_range
        returns are exactly the stored records that pass."""
        cases = [
            ('{service="api"}', lambda j: j["service"] == "api"),
            ('{service!="api", level=~"warn|error"}',
             lambda j: j["service"] != "api" and j["level"] in ("warn", "error")),
            ('{service=~"a.*|b.*", level!~"debug|info"}',
             lambda j: j["service"] in ("api", "billing") and j["level"] in ("warn", "error")),
            ('{user="bob"}', lambda j: j["user"] == "bob"),
            ('{service="web"} |= "timeout"', lambda j: j["service"] == "web" and "timeout" in j["message"]),
            ('{service="web"} != "timeout"', lambda j: j["service"] == "web" and "timeout" not in j["message"]),
            ('{level="info"} |~ "pay(ment)? f"', lambda j: j["level"] == "info" and "payment f" in j["message"]),
            ('{level="info"} !~ "login|cache"',
             lambda j: j["level"] == "info" and not re.search("login|cache", j["message"])),
            ('{service="api"} |= "login" or "slow"',
             lambda j: j["service"] == "api" and ("login" in j["message"] or "slow" in j["message"])),
            ('{service="api"} | json | status >= 500', lambda j: j["service"] == "api" and j["status"] >= 500),
            ('{service="api"} | json | user="carol" or latency < 20.5',
             lambda j: j["service"] == "api" and (j["user"] == "carol" or j["latency"] < 20.5)),
            ('{service="web"} | logfmt | took > 1s', lambda j: j["service"] == "web" and logfmt_took(j) > 1),
            ('{service="web"} | logfmt | took <= 250ms, user!~"a.*"',
             lambda j: j["service"] == "web" and logfmt_took(j) <= 0.25 and j["user"] != "alice"),
        ]
        for query, pred in cases:
            with self.subTest(query=query):
                want = sorted(r[1] for r in self.rows_where(pred))
                self.assertGreater(len(want), 0)
                js = self.ok("query_range", {"query": query, "limit": "5000",
                                             "start": str((NOW_MS - 3600000) * 1000000),
                                             "end": str(NOW_MS * 1000000)})
                self.assertEqual(js["data"]["resultType"], "streams")
                got = sorted(v[1] for s in js["data"]["result"] for v in s["values"])
                self.assertEqual(got, want)

    def metric_cases(self):
        R = self.rows
        api = [r for r in R if r[2]["service"] == "api"]
        by_stream = lambda rows: group(rows, stream_key)
        by = lambda rows, *names: group(rows, lambda r: tuple((n, r[2][n]) for n in names))
        count = lambda g: {k: len(v) for k, v in g.items()}
        errors = [r for r in R if r[2]["level"] == "error"]
        web_to = [r for r in R if r[2]["service"] == "web" and "timeout" in r[2]["message"]]
        per_service = count(by(R, "service"))
        vals = lambda g, f: {k: f([r[2]["latency"] for r in v]) for k, v in g.items()}
        stream_counts = count(by_stream(R))
        svc_of_stream = lambda fn: {
            (("service", s),): fn([c for k, c in stream_counts.items() if dict(k)["service"] == s])
            for s in SERVICES}

        def ranked(counts, k, top):
            """A check of topk/bottomk: k series with their own counts, none left out
            that ranks strictly better (services with equal counts may tie)."""
            def check(got):
                self.assertEqual(len(got), k, got)
                chosen = {dict(key)["service"]: v for key, v in got.items()}
                for svc, v in chosen.items():
                    self.assertEqual(v, counts[(("service", svc),)])
                worst = min(chosen.values()) if top else max(chosen.values())
                for key, v in counts.items():
                    if key[0][1] not in chosen:
                        self.assertTrue(v <= worst if top else v >= worst, (got, counts))
            return check
        return [
            ('count_over_time({service="api"}[%s])' % RANGE, count(by_stream(api))),
            ('sum by (service) (rate({level="error"}[%s]))' % RANGE,
             {k: len(v) / RANGE_S for k, v in by(errors, "service").items()}),
            ('bytes_over_time({service="web"} |= "timeout" [%s])' % RANGE,
             {k: sum(len(r[1].encode()) for r in v) for k, v in by_stream(web_to).items()}),
            ('sum(bytes_rate({service="web"} |= "timeout" [%s]))' % RANGE,
             {(): sum(len(r[1].encode()) for r in web_to) / RANGE_S}),
            ('sum(count_over_time({service=~".+"}[%s]))' % RANGE, {(): len(R)}),
            ('sum without (level) (count_over_time({service=~".+"}[%s]))' % RANGE,
             {(("service", k[0][1]),): v for k, v in per_service.items()}),
            ('avg by (service) (count_over_time({service=~".+"}[%s]))' % RANGE,
             svc_of_stream(lambda c: sum(c) / len(c))),
            ('max by (service) (count_over_time({service=~".+"}[%s]))' % RANGE, svc_of_stream(max)),
            ('min by (service) (count_over_time({service=~".+"}[%s]))' % RANGE, svc_of_stream(min)),
            ('count by (service) (count_over_time({service=~".+"}[%s]))' % RANGE, svc_of_stream(len)),
            ('topk(2, sum by (service) (count_over_time({service=~".+"}[%s])))' % RANGE,
             ranked(per_service, 2, top=True)),
            ('bottomk(1, sum by (service) (count_over_time({service=~".+"}[%s])))' % RANGE,
             ranked(per_service, 1, top=False)),
            ('sum by (user) (count_over_time({service="api"} | json user [%s]))' % RANGE,
             count(by(api, "user"))),
            ('sum by (service) (count_over_time({service=~".+"} | json | status >= 500 [%s]))' % RANGE,
             count(by([r for r in R if r[2]["status"] >= 500], "service"))),
            ('sum by (level) (count_over_time({service="web"} | logfmt | took > 1s [%s]))' % RANGE,
             count(by([r for r in R if r[2]["service"] == "web" and logfmt_took(r[2]) > 1], "level"))),
            ('sum_over_time({service="api"} | unwrap latency [%s])' % RANGE, vals(by_stream(api), sum)),
            ('avg_over_time({service="api"} | unwrap latency [%s])' % RANGE,
             vals(by_stream(api), lambda v: sum(v) / len(v))),
            ('max_over_time({service="api"} | unwrap latency [%s])' % RANGE, vals(by_stream(api), max)),
            ('min_over_time({service="api"} | unwrap latency [%s])' % RANGE, vals(by_stream(api), min)),
            ('quantile_over_time(0.9, {service="api"} | unwrap latency [%s])' % RANGE,
             vals(by_stream(api), lambda v: quantile(0.9, v))),
            ('sum by (service) (quantile_over_time(0.5, {level="error"} | unwrap latency [%s]))'
             % RANGE,
             {(("service", s),): sum(quantile(0.5, [r[2]["latency"] for r in errors
                                                   if r[2]["service"] == s and r[2]["level"] == "error"])
                                     for _ in [0]) for s in SERVICES
              if any(r[2]["service"] == s for r in errors)}),
        ]

    def test_metric_semantics(self):
        """Each metric function and grouping, as an instant query, against the values
        computed from the stored records."""
        for query, want in self.metric_cases():
            with self.subTest(query=query):
                self.assertVector(self.instant(query), want, query)

    def test_range_steps(self):
        """query_range's points: each covers (t - range, t], as Loki's."""
        start, step, rng = NOW_MS - 25 * 60000, 60000, 120000
        js = self.ok("query_range", {
            "query": 'sum by (service) (count_over_time({service=~".+"}[2m]))',
            "start": str(start * 1000000), "end": str(NOW_MS * 1000000), "step": "60s"})
        self.assertEqual(js["data"]["resultType"], "matrix")
        got = {s["metric"]["service"]: {int(round(t * 1000)): int(v) for t, v in s["values"]}
               for s in js["data"]["result"]}
        want = {}
        for t in range(start, NOW_MS + 1, step):
            for ts, _, j in self.rows:
                if t - rng < ts <= t:
                    want.setdefault(j["service"], {}).setdefault(t, 0)
                    want[j["service"]][t] += 1
        self.assertEqual(got, want)

    # -- Grafana's requests and Loki's shapes -----------------------------------------
    def test_ready_and_buildinfo(self):
        st, hd, data = self.get("ready")
        self.assertEqual((st, data), (200, b"ready\n"))
        js = self.ok("status/buildinfo")
        for k in ("version", "revision", "branch", "buildUser", "buildDate", "goVersion"):
            self.assertIsInstance(js[k], str)
        self.assertRegex(js["version"], r"^\d+\.\d+\.\d+")

    def test_grafana_health_check(self):
        """Grafana's Loki data source tests the connection with an instant query of
        vector(1)+vector(1) and expects 2."""
        js = self.ok("query", {"query": "vector(1)+vector(1)", "time": str(NOW_MS * 1000000)})
        self.assertEqual(js["data"]["resultType"], "vector")
        self.assertEqual(js["data"]["result"], [{"metric": {}, "value": [NOW_MS / 1000, "2"]}])
        js = self.ok("query", {"query": "1 + 2 * 3"})
        self.assertEqual(js["data"]["resultType"], "scalar")
        self.assertEqual(js["data"]["result"][1], "7")

    def test_explore_logs(self):
        """Explore's log query: direction=backward, limit, step; newest first, ns strings."""
        params = {"query": '{service="api"} |= "timeout"', "direction": "backward",
                  "limit": "7", "step": "2s", "start": str((NOW_MS - 3600000) * 1000000),
                  "end": str(NOW_MS * 1000000)}
        js = self.ok("query_range", params)
        self.assertEqual(js["status"], "success")
        data = js["data"]
        self.assertEqual(data["resultType"], "streams")
        want = sorted((r for r in self.rows
                       if r[2]["service"] == "api" and "timeout" in r[2]["message"]),
                      key=lambda r: -r[0])[:7]
        entries = []
        for s in data["result"]:
            self.assertEqual(set(s["stream"]), {"service", "level"})
            ts = [int(v[0]) for v in s["values"]]
            self.assertEqual(ts, sorted(ts, reverse=True))
            for v in s["values"]:
                self.assertIsInstance(v[0], str)
                self.assertEqual(json.loads(v[1])["level"], s["stream"]["level"])
                entries.append((int(v[0]), v[1]))
        self.assertEqual(sorted(entries, key=lambda e: (-e[0], e[1]))[:7][-1][0] // 1000000,
                         want[-1][0])
        self.assertEqual(len(entries), 7)
        self.assertEqual(data["stats"]["summary"]["totalEntriesReturned"], 7)
        # forward: the oldest first, the same query as a POST form
        params["direction"] = "forward"
        js = self.ok("query_range", params, method="POST")
        first = min(int(v[0]) for s in js["data"]["result"] for v in s["values"])
        self.assertEqual(first // 1000000, min(r[0] for r in want + [
            r for r in self.rows if r[2]["service"] == "api" and "timeout" in r[2]["message"]]))

    def test_logs_volume_histogram(self):
        """Explore's logs volume: sum by (level) (count_over_time(...[step])) over the
        range, step as a duration; and /index/volume(_range) for the same selector."""
        start = NOW_MS - 30 * 60000
        js = self.ok("query_range", {
            "query": 'sum by (level) (count_over_time({service="api"} | drop __error__ [1m]))',
            "start": str(start * 1000000), "end": str(NOW_MS * 1000000), "step": "60000ms"})
        total = sum(int(v) for s in js["data"]["result"] for _, v in s["values"])
        self.assertEqual(total, sum(1 for r in self.rows if r[2]["service"] == "api"))
        # Newer Grafana groups by detected_level too: absent here, so the same series.
        js2 = self.ok("query_range", {
            "query": 'sum by (level, detected_level) (count_over_time({service="api"}[1m]))',
            "start": str(start * 1000000), "end": str(NOW_MS * 1000000), "step": "60000ms"})
        self.assertEqual(js2["data"]["result"], js["data"]["result"])
        for s in js["data"]["result"]:
            self.assertEqual(list(s["metric"]), ["level"])
            for t, v in s["values"]:
                self.assertIsInstance(t, (int, float))
                self.assertIsInstance(v, str)
        js = self.ok("index/volume", {"query": '{service=~".+"}', "start": str(start * 1000000),
                                      "end": str(NOW_MS * 1000000)})
        self.assertEqual(js["data"]["resultType"], "vector")
        got = {s["metric"]["service"]: int(s["value"][1]) for s in js["data"]["result"]}
        want = {}
        for _, line, j in self.rows:
            want[j["service"]] = want.get(j["service"], 0) + len(line.encode())
        self.assertEqual(got, want)
        js = self.ok("index/volume", {"query": '{service="api"}', "targetLabels": "level",
                                      "start": str(start * 1000000), "end": str(NOW_MS * 1000000)})
        self.assertEqual({tuple(s["metric"]) for s in js["data"]["result"]}, {("level",)})
        js = self.ok("index/volume_range", {"query": '{service="web"}', "step": "300",
                                            "start": str(start * 1000000),
                                            "end": str(NOW_MS * 1000000)})
        self.assertEqual(js["data"]["resultType"], "matrix")

    def test_labels_values_series(self):
        rng = {"start": str((NOW_MS - 3600000) * 1000000), "end": str(NOW_MS * 1000000)}
        self.assertEqual(self.ok("labels", rng), {"status": "success", "data": ["level", "service"]})
        js = self.ok("label/service/values", rng)
        self.assertEqual(js["data"], sorted({j["service"] for _, _, j in self.rows}))
        js = self.ok("label/level/values", dict(rng, query='{service="api"}'))
        self.assertEqual(js["data"], sorted({j["level"] for _, _, j in self.rows
                                             if j["service"] == "api"}))
        self.assertEqual(self.ok("label/nope/values", rng)["data"], [])
        js = self.ok("series", dict(rng, **{"match[]": '{service="web", level=~"warn|error"}'}))
        want = {(j["level"], j["service"]) for _, _, j in self.rows
                if j["service"] == "web" and j["level"] in ("warn", "error")}
        self.assertEqual({(s["level"], s["service"]) for s in js["data"]}, want)
        old = {"start": str((NOW_MS - 7200000) * 1000000), "end": str((NOW_MS - 3600000) * 1000000)}
        self.assertEqual(self.ok("labels", old)["data"], [])

    def test_index_stats(self):
        js = self.ok("index/stats", {"query": '{service="billing"}',
                                     "start": str((NOW_MS - 3600000) * 1000000),
                                     "end": str(NOW_MS * 1000000)})
        rows = [r for r in self.rows if r[2]["service"] == "billing"]
        self.assertEqual(js["entries"], len(rows))
        self.assertEqual(js["bytes"], sum(len(r[1].encode()) for r in rows))
        self.assertEqual(js["streams"], len({r[2]["level"] for r in rows}))
        self.assertGreater(js["chunks"], 0)

    def test_detected_fields(self):
        js = self.ok("detected_fields", {"query": '{service="api"} | logfmt',
                                         "start": str((NOW_MS - 3600000) * 1000000),
                                         "end": str(NOW_MS * 1000000)})
        fields = {f["label"]: f for f in js["fields"]}
        self.assertEqual(fields["status"]["type"], "int")
        self.assertEqual(fields["latency"]["type"], "float")
        self.assertEqual(fields["took"]["type"], "duration")
        self.assertEqual(fields["took"]["parsers"], ["logfmt"])
        self.assertEqual(fields["user"]["cardinality"],
                         len({j["user"] for _, _, j in self.rows if j["service"] == "api"}))

    def test_times_in_every_form(self):
        """start/end as ns, as seconds, as float seconds, as RFC 3339; since."""
        q = 'sum(count_over_time({service=~".+"}[30m]))'
        iso = cltest.ms_text(NOW_MS)
        for end in (str(NOW_MS * 1000000), str(NOW_MS // 1000), "%d.0" % (NOW_MS // 1000), iso):
            with self.subTest(end=end):
                js = self.ok("query_range", {"query": q, "start": end, "end": end, "step": "1"})
                self.assertEqual(js["data"]["result"][0]["values"],
                                 [[NOW_MS / 1000, str(len(self.rows))]])
        js = self.ok("query_range", {"query": '{service="api"}', "since": "2h", "limit": "5000"})
        self.assertEqual(sum(len(s["values"]) for s in js["data"]["result"]),
                         sum(1 for r in self.rows if r[2]["service"] == "api"))

    def test_errors(self):
        cases = [
            ("query_range", {"query": '{service="api"} | pattern "<_>"'}, 400,
             "unsupported: pattern parser `| pattern` at 1:19"),
            ("query_range", {"query": 'sum(rate({service="api"}[5m])) / 2'}, 400,
             "unsupported: binary operator `/`"),
            ("query_range", {"query": '{service="api"'}, 400, "syntax error"),
            ("query_range", {}, 400, 'parameter "query" is required'),
            ("query_range", {"query": '{service="api"}', "start": "yesterday"}, 400,
             'invalid parameter "start"'),
            ("query_range", {"query": '{service="api"}', "limit": "5001"}, 400,
             "max entries limit per query exceeded"),
            ("query_range", {"query": 'rate({service="api"}[1m])', "start": "0",
                             "end": str(NOW_MS * 1000000), "step": "1"}, 400,
             "exceeded maximum resolution of 11000 points"),
            ("query_range", {"query": '{service="api"}', "direction": "sideways"}, 400,
             '"direction"'),
            ("query", {"query": '{service="api"}'}, 400,
             "log queries are not supported as an instant query type"),
            ("nope", {}, 404, "404 page not found"),
        ]
        for path, params, status, msg in cases:
            with self.subTest(path=path, params=params):
                st, hd, data = self.get(path, params)
                self.assertEqual(st, status, data)
                js = json.loads(data)
                self.assertEqual((js["code"], js["status"]), (status, "error"))
                self.assertIn(msg, js["message"])
        st, hd, _ = self.get("labels", method="PUT")
        self.assertEqual(st, 405)

    def test_series_limit(self):
        st, _, data = self.get("query", {"query": 'count_over_time({service=~".+"} | json [30m])'})
        self.assertEqual(st, 400)
        self.assertIn("maximum of series (500) reached for a single query",
                      json.loads(data)["message"])
        st, _, data = self.get("index/volume", {"query": '{service=~".+"}', "targetLabels": "id"})
        self.assertEqual(st, 400)
        self.assertIn("maximum of series (500)", json.loads(data)["message"])


class LokiApiKeys(cltest.DaemonTestCase):
    def test_keys(self):
        """Grafana sends the key as Bearer or as Basic auth's password; /ready is open."""
        d = self.daemon(args=["--api-key-file", cltest.write_key_file("s3cret")])
        path = "/loki/api/v1/labels"
        st, hd, data = d.request("GET", path)
        self.assertEqual(st, 401)
        self.assertEqual(json.loads(data)["status"], "error")
        self.assertEqual(d.request("GET", path, headers={"Authorization": "Bearer nope"})[0], 401)
        self.assertEqual(d.request("GET", path, headers={"Authorization": "Bearer s3cret"})[0], 200)
        basic = "Basic " + base64.b64encode(b"grafana:s3cret").decode()
        self.assertEqual(d.request("GET", path, headers={"Authorization": basic})[0], 200)
        self.assertEqual(d.request("GET", "/loki/api/v1/ready")[0], 200)



class LokiApiSlots(cltest.DaemonTestCase):
    def test_burst_waits_for_a_slot(self):
        """A burst of 4 concurrent queries (a dashboard refresh) with --max-queries 1: those
        beyond the slot wait in the workers' queue and all answer 200 (up to 4 x
        --max-queries may wait; docs/loki.md "Limits and scheduling")."""
        d = self.daemon(args=["--max-queries", "1", "--flush-age", "200ms"])
        recs = [{"timestamp": cltest.ms_text(NOW_MS - 60000 - i), "service": "api",
                 "level": "info", "message": "m %d" % i} for i in range(200)]
        self.assertEqual(d.post_logs(recs)[0], 202)
        cltest.wait_drained(d.data_dir, timeout=60, daemon=d)
        q = urllib.parse.urlencode({"query": 'sum(count_over_time({service=~"a.*"}[10m]))',
                                    "time": str(NOW_MS * 1000000)})
        results = []

        def one():
            st, _, data = d.request("GET", "/loki/api/v1/query?" + q, timeout=60)
            results.append((st, data))

        threads = [threading.Thread(target=one) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual([st for st, _ in results], [200] * 4, results)
        for _, data in results:
            self.assertEqual(json.loads(data)["data"]["result"][0]["value"][1], "200")


if __name__ == "__main__":
    cltest.main()
