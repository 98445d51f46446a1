"""End-to-end tests of how HTTP routes parse their query parameters: numbers that do not fit
(inf, nan, 1e300), trailing garbage and the like are answered 400 with the parameter's name,
never turned into a time or step by an out-of-range conversion."""

import json
import os
import urllib.parse

import cltest


class LokiPatternsParams(cltest.ClassDaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cltest.Daemon().start()

    def patterns(self, **params):
        st, _, body = self.d.request("GET", "/loki/api/v1/patterns?" +
                                     urllib.parse.urlencode(params))
        return st, json.loads(body)

    def test_times_that_do_not_fit_are_400(self):
        for name in ("start", "end"):
            for v in ("inf", "-inf", "nan", "1e300", "-1e300", "9.3e18"):
                st, js = self.patterns(**{name: v})
                self.assertEqual(st, 400, (name, v, js))
                self.assertIn("invalid " + name, js["error"], (name, v))

    def test_steps_that_are_not_numbers_are_400(self):
        for v in ("nan", "inf", "1e300", "5abc", "0", "-1"):
            st, js = self.patterns(step=v)
            self.assertEqual(st, 400, (v, js))
            self.assertIn("invalid step", js["error"], v)

    def test_good_forms_still_answer(self):
        for params in ({}, {"step": "60"}, {"step": "0.5"}, {"step": "2m"},
                       {"start": "1700000000", "end": "1700003600"},
                       {"start": "1700000000000000000", "end": "1700003600000000000"}):
            st, js = self.patterns(**params)
            self.assertEqual(st, 200, (params, js))
            self.assertEqual(js["status"], "success", params)


class LiveDocuments(cltest.ClassDaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cltest.Daemon().start()

    def test_live_documents_are_not_cached(self):
        for path, ctype in (("/metrics", "text/plain; version=0.0.4; charset=utf-8"),
                            ("/v1/alarms", "application/json"),
                            ("/v1/patterns", "application/json"),
                            ("/v1/anomalies", "application/json"),
                            ("/v1/patterns?limit=0", "application/json")):
            st, hd, _ = self.d.request("GET", path)
            self.assertIn(st, (200, 400), path)
            self.assertEqual(hd.get("cache-control"), "no-store", path)
            self.assertEqual(hd.get("content-type"), ctype, path)


class AnalyticsDatabase(cltest.DaemonTestCase):
    def test_unopenable_database_is_500_not_analytics_off(self):
        d = self.daemon()
        db = os.path.join(d.data_dir, "analytics.db")
        cltest.wait_for(lambda: os.path.exists(db), 30, "DATA/analytics.db", d)
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        for path in ("/v1/patterns", "/v1/anomalies", "/loki/api/v1/patterns"):
            st, _, body = d.request("GET", path)
            self.assertEqual(st, 500, (path, body))
            self.assertIn("cannot open the analytics database", json.loads(body)["error"], path)
            self.assertNotIn("analytics is off", body.decode(), path)
        off = self.daemon(args=["--analytics", "off"])
        st, _, body = off.request("GET", "/v1/patterns")
        self.assertEqual(st, 503, body)
        self.assertIn("analytics is off", json.loads(body)["error"])


if __name__ == "__main__":
    cltest.main()
