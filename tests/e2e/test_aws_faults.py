"""Faults between the S3 store backend and S3: tests/tools/faultproxy.py sits between
cloudlog and moto and answers some requests with SlowDown 503, InternalError 500, a
connection reset or a stalled response. The client retries them with backoff within its
attempt bound (3), nothing acknowledged is lost (every record posted and answered 202 is
in the store afterwards), and exhausted retries end in an error naming the S3 code."""

import os
import sys
import time

import cltest
import s3_moto

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from faultproxy import FaultProxy  # noqa: E402

BUCKET = "cl-faults"
NOW_MS = int(time.time() * 1000)
STAGING_PUT = {"method": "PUT", "path": "/_staging/"}
LIST = {"method": "GET", "path": "list-type=2"}
OBJECT_GET = {"method": "GET", "path": ".ndjson.gz"}
# A stall outlasts the client's per-attempt timeout (the URL's timeout=2s).
STALL_S = 4


def records(tag, n):
    return [{"message": "%s record %d" % (tag, i), "service": ["api", "web"][i % 2],
             "level": "info", "ts": NOW_MS - 2 * 3600 * 1000 + i * 5000, "i": i}
            for i in range(n)]


def rule(match, **action):
    r = dict(match)
    r.update(action)
    return r


class S3Faults(cltest.DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.why = s3_moto.missing()
        if cls.why:
            return
        cls.moto = s3_moto.S3Moto(BUCKET)
        cls.fp = FaultProxy.start_thread(cls.moto.url)

    @classmethod
    def tearDownClass(cls):
        if not cls.why:
            cls.fp.stop()
            cls.moto.stop()

    def setUp(self):
        super().setUp()
        if self.why:
            s3_moto.skip_or_fail(self, self.why)
        self.fp.clear()

    def proxied(self, prefix):
        return self.moto.store_url(prefix, endpoint=self.fp.url, timeout="2s")

    def count(self, url, extra=()):
        return cltest.run_cli(["query", "--store", url, "--since", "4h", "--count"] + list(extra),
                              env=self.moto.env, timeout=120)

    def applied(self, log):
        """The faults the proxy applied (log entries with a rule)."""
        return [e for e in log if e["rule"] is not None]

    def assert_each_fault_then_success(self, log):
        """Every faulted request was followed by a forwarded 2xx of the same request."""
        for i, e in enumerate(log):
            if e["rule"] is None:
                continue
            later = [x for x in log[i + 1:] if x["method"] == e["method"]
                     and x["path"] == e["path"] and x["action"] == "forward"]
            self.assertTrue(later and 200 <= later[0]["status"] < 300,
                            "no successful retry after %r" % e)

    def post_stage(self, d, tag, n, rules):
        """Adds rules, posts n records, waits until they are stored; returns the log."""
        self.fp.clear()
        self.fp.add(*rules)
        recs = records(tag, n)
        for i in range(0, n, 50):
            st, _, js = d.post_logs(recs[i:i + 50])
            self.assertEqual(st, 202, js)
        cltest.wait_drained(d.data_dir, daemon=d, timeout=180)
        log = self.fp.log()
        self.assertEqual(len(self.applied(log)), len(rules),
                         "every rule applies once: %r" % self.applied(log))
        self.assert_each_fault_then_success(log)
        return log

    def test_put_faults_retried_nothing_lost(self):
        d = self.daemon(args=["--store", self.proxied("puts"), "--flush-age", "300ms",
                              "--flush-size", "8KiB"], env=self.moto.env)
        stages = [
            ("slowdown+reset", [rule(STAGING_PUT, action="status", status=503),
                                rule(STAGING_PUT, action="reset")]),
            ("500+stall", [rule(STAGING_PUT, action="status", status=500),
                           rule(STAGING_PUT, action="stall", seconds=STALL_S)]),
            # The put reaches S3 but its answer is lost: the retry rewrites the same key.
            ("lost-ack", [rule(STAGING_PUT, action="stall", seconds=STALL_S, forward=True),
                          rule({"method": "PUT", "path": "/service%3D"}, action="status",
                               status=503)]),  # the copy that publishes the object
        ]
        total = 0
        for tag, rules in stages:
            with self.subTest(stage=tag):
                self.post_stage(d, tag, 120, rules)
                total += 120
        d.stop()
        log = d.log_text()
        self.assertNotIn("cannot store object", log)  # no put ran out of attempts
        rc, out, err = self.count(self.moto.store_url("puts"))
        self.assertEqual((rc, out.strip()), (0, str(total)), err)
        # Staging objects were moved away, even where the copy was retried.
        self.assertEqual([k for k in self.moto.keys("puts/") if "_staging" in k], [])

    def test_exhausted_put_retried_by_the_processor(self):
        """A put that runs out of attempts is a store failure to the processor, which gives
        the messages back (uncounted), opens its circuit breaker until a probe put works,
        and writes them again: still nothing lost."""
        d = self.daemon(args=["--store", self.proxied("later"), "--flush-age", "300ms",
                              "--retry-base", "1s"], env=self.moto.env)
        self.fp.add(rule(STAGING_PUT, action="status", status=503, times=3))
        recs = records("later", 100)
        st, _, js = d.post_logs(recs)
        self.assertEqual(st, 202, js)
        cltest.wait_drained(d.data_dir, daemon=d, timeout=180)
        d.stop()
        log = d.log_text()
        self.assertIn("SlowDown", log)
        self.assertIn("3 attempts", log)
        # the processor gave the batch back uncounted and its circuit breaker opened
        self.assertIn("message(s) back", log)
        self.assertIn("circuit open", log)
        self.assertEqual(len(self.applied(self.fp.log())), 3)
        rc, out, err = self.count(self.moto.store_url("later"))
        self.assertEqual((rc, out.strip()), (0, str(len(recs))), err)

    def fill(self, prefix, n):
        d = self.daemon(args=["--store", self.moto.store_url(prefix), "--flush-age", "300ms",
                              "--flush-size", "4KiB"], env=self.moto.env)
        recs = records(prefix, n)
        st, _, js = d.post_logs(recs)
        self.assertEqual(st, 202, js)
        cltest.wait_drained(d.data_dir, daemon=d, timeout=180)
        d.stop()
        return recs

    def test_get_list_faults_retried(self):
        recs = self.fill("reads", 300)
        self.fp.add(rule(LIST, action="status", status=503),
                    rule(LIST, action="reset"),
                    rule(OBJECT_GET, action="status", status=500),
                    rule(OBJECT_GET, action="reset"),
                    rule(OBJECT_GET, action="stall", seconds=STALL_S, forward=True))
        rc, out, err = self.count(self.proxied("reads"))
        self.assertEqual((rc, out.strip()), (0, str(len(recs))), err)
        log = self.fp.log()
        self.assertEqual(len(self.applied(log)), 5, self.applied(log))
        self.assert_each_fault_then_success(log)

    def test_exhausted_retries_name_the_error(self):
        self.fill("exhaust", 20)
        cases = [(rule(LIST, action="status", status=503, times=None), "SlowDown"),
                 (rule(LIST, action="status", status=500, times=None), "InternalError"),
                 (rule(LIST, action="reset", times=None), "3 attempts")]
        for r, needle in cases:
            with self.subTest(fault=needle):
                self.fp.clear()
                self.fp.add(r)
                rc, out, err = self.count(self.proxied("exhaust"))
                self.assertNotEqual(rc, 0, out)
                self.assertIn(needle, err)
                self.assertIn("3 attempts", err)
                lists = [e for e in self.fp.log() if "list-type=2" in e["path"]]
                self.assertEqual(len(lists), 3, "bounded attempts: %r" % lists)
        self.fp.clear()
        rc, out, err = self.count(self.proxied("exhaust"))  # and all is well again
        self.assertEqual((rc, out.strip()), (0, "20"), err)


if __name__ == "__main__":
    cltest.main()
