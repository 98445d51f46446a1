"""End-to-end tests of GET /v1/query on the daemon: filters as query parameters,
streamed NDJSON (chunked), 400 for bad parameters, auth, and a large streamed result."""

import json
import os
import time
import urllib.parse

import cltest

NOW_MS = int(time.time() * 1000)
SERVICES = ["api", "web", "billing"]
LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"]


def make_records(n):
    """n records over the last 50 minutes: service, level and a seq field vary."""
    out = []
    for i in range(n):
        out.append({"message": "request %d %s" % (i, "needle" if i % 7 == 0 else "hay"),
                    "service": SERVICES[i % 3], "level": LEVELS[i % 6],
                    "ts": NOW_MS - 50 * 60 * 1000 + i * 1000, "seq": i,
                    "user": "u%d" % (i % 5)})
    return out


class QueryHttp(cltest.DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.keys = os.path.join(cltest.mkdtemp("cl-keys-"), "keys")
        with open(cls.keys, "w") as f:
            f.write("query-key\n")
        cls.d = cltest.Daemon(args=["--flush-age", "500ms", "--api-key-file", cls.keys]).start()
        cls.recs = make_records(3000)
        for i in range(0, len(cls.recs), 500):
            st, _, js = cls.d.post_logs(cls.recs[i:i + 500],
                                        headers={"Authorization": "Bearer query-key"})
            assert st == 202, js
        cltest.wait_drained(cls.d.data_dir, daemon=cls.d)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def query(self, params, key="query-key"):
        path = "/v1/query?" + urllib.parse.urlencode(params, doseq=True)
        headers = {"Authorization": "Bearer " + key} if key else {}
        c = self.d.conn(timeout=60)
        try:
            c.request("GET", path, headers=headers)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def lines(self, params):
        st, hd, data = self.query(params)
        self.assertEqual(st, 200, data[:500])
        self.assertEqual(hd.get("content-type"), "application/x-ndjson")
        self.assertEqual(hd.get("transfer-encoding"), "chunked")
        return [json.loads(l) for l in data.decode().splitlines()]

    def expect(self, pred, newest=True, limit=100):
        got = [r for r in self.recs if pred(r)]
        got.sort(key=lambda r: r["ts"], reverse=newest)
        return [r["seq"] for r in got[:limit]]

    def test_default_is_last_hour_newest_first_limit_100(self):
        rows = self.lines({})
        self.assertEqual([r["seq"] for r in rows], self.expect(lambda r: True))

    def test_filters(self):
        rows = self.lines({"service": "api", "level": "warn+", "grep": "NEEDLE",
                           "ignore_case": "1", "limit": "1000", "order": "oldest"})
        want = self.expect(lambda r: r["service"] == "api" and
                           LEVELS.index(r["level"]) >= 3 and "needle" in r["message"],
                           newest=False, limit=1000)
        self.assertEqual([r["seq"] for r in rows], want)
        self.assertTrue(want, "the data set must have matches")

    def test_where_and_regex_and_repeated_service(self):
        rows = self.lines({"service": ["api", "bill*"], "where": "user=u3",
                           "regex": "request [0-9]*5 ", "limit": "1000"})
        want = self.expect(lambda r: r["service"] in ("api", "billing") and r["user"] == "u3"
                           and str(r["seq"]).endswith("5"), limit=1000)
        self.assertEqual([r["seq"] for r in rows], want)

    def test_count(self):
        st, _, data = self.query({"level": "error", "count": "1"})
        self.assertEqual(st, 200)
        self.assertEqual(json.loads(data), {"count": sum(r["level"] == "error" for r in self.recs)})

    def test_large_result_streams_whole(self):
        rows = self.lines({"limit": "100000", "since": "2h"})
        self.assertEqual(len(rows), len(self.recs))
        self.assertEqual(len({r["seq"] for r in rows}), len(self.recs))

    def test_time_range(self):
        frm = NOW_MS - 40 * 60 * 1000
        to = NOW_MS - 30 * 60 * 1000
        iso = lambda ms: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + \
            ".%03dZ" % (ms % 1000)
        rows = self.lines({"from": iso(frm), "to": iso(to), "limit": "5000"})
        self.assertEqual(sorted(r["seq"] for r in rows),
                         sorted(self.expect(lambda r: frm <= r["ts"] < to, limit=5000)))

    def cli_seqs(self, args):
        rc, out, err = cltest.run_cli(["query", "--data", self.d.data_dir, "--limit", "0"] + args)
        self.assertEqual(rc, 0, err)
        return sorted(json.loads(l)["seq"] for l in out.splitlines())

    def test_since_with_to_is_one_range_over_http_and_cli(self):
        # One option set for both (src/query/query_opts.c): since is an age like from, and
        # to still ends the range (HTTP refused since with to before).
        # Times rather than ages: the two runs see different "now"s.
        frm, to = NOW_MS - 45 * 60000, NOW_MS - 35 * 60000
        iso = lambda ms: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + \
            ".%03dZ" % (ms % 1000)
        rows = self.lines({"since": iso(frm), "to": iso(to), "limit": "5000"})
        got = sorted(r["seq"] for r in rows)
        self.assertEqual(got, sorted(self.expect(lambda r: frm <= r["ts"] < to, limit=5000)))
        self.assertTrue(got, "the range must hold records")
        self.assertEqual(got, self.cli_seqs(["--since", iso(frm), "--to", iso(to)]))

    def test_errors_read_the_same_over_http_and_cli(self):
        cases = [({"since": "2h", "from": "3h"}, ["--since", "2h", "--from", "3h"]),
                 ({"where": "nofield"}, ["--where", "nofield"]),
                 ({"level": "loud"}, ["--level", "loud"]),
                 ({"order": "sideways"}, ["--order", "sideways"])]
        for params, args in cases:
            with self.subTest(params=params):
                st, _, data = self.query(params)
                self.assertEqual(st, 400, data)
                http_msg = json.loads(data)["error"]
                rc, _, err = cltest.run_cli(["query", "--data", self.d.data_dir] + args)
                self.assertEqual(rc, 2, err)
                cli_msg = err.strip().split(": ", 1)[1]
                # the same words; the CLI spells the option with its dashes
                self.assertEqual(cli_msg.replace("--", ""), http_msg)

    def test_bad_parameters_400(self):
        for params in ({"level": "loud"}, {"regex": "("}, {"since": "yesterday"},
                       {"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
                       {"limit": "-1"}, {"order": "sideways"}, {"bogus": "1"},
                       {"where": "nofield"}, {"limit": "0"}):
            with self.subTest(params=params):
                st, _, data = self.query(params)
                self.assertEqual(st, 400, data)
                self.assertIn("error", json.loads(data))

    def test_auth_and_method(self):
        st, hd, _ = self.query({}, key=None)
        self.assertEqual(st, 401)
        st, _, _ = self.query({}, key="wrong")
        self.assertEqual(st, 401)
        st, hd, _ = self.d.request("POST", "/v1/query", body=b"{}",
                                   headers={"Authorization": "Bearer query-key"})
        self.assertEqual(st, 405)
        self.assertIn("GET", hd.get("allow", ""))

    def test_client_disconnect_mid_stream_leaves_daemon_healthy(self):
        c = self.d.conn(timeout=30)
        c.request("GET", "/v1/query?limit=100000&since=2h",
                  headers={"Authorization": "Bearer query-key"})
        r = c.getresponse()
        r.read(1000)
        c.close()
        for _ in range(3):
            self.assertEqual(len(self.lines({"limit": "10"})), 10)


if __name__ == "__main__":
    cltest.main()
