"""End-to-end tests of a query's budget on GET /v1/query (docs/query.md "Query budgets"): regex
match limits and the JIT stack, out-of-range times, --max-queries, --query-timeout and
--query-max-bytes, each with its status and message."""

import json
import threading
import time
import urllib.parse

import cltest

N_RECORDS = 3000
RUN_LEN = 12000  # a/b characters per message: past the PCRE2 JIT's default 32 KiB stack
NOW_MS = int(time.time() * 1000)


def records(lo, hi):
    """Records whose line ends in a long run of a and b: ...,"message":"baab...aab"}"""
    run = "".join("a" if j % 3 else "b" for j in range(RUN_LEN))
    return [{"message": run, "service": "rx", "ts": NOW_MS - 30 * 60 * 1000 + i}
            for i in range(lo, hi)]


class QueryLimits(cltest.DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cltest.Daemon(args=["--flush-age", "500ms", "--max-queries", "1"]).start()
        for lo in range(0, N_RECORDS, 500):
            st, _, js = cls.d.post_logs(records(lo, lo + 500))
            assert st == 202, js
        cltest.wait_drained(cls.d.data_dir, daemon=cls.d)

    @classmethod
    def tearDownClass(cls):
        if cls.d.alive():
            cls.d.stop()

    def query(self, params, d=None):
        path = "/v1/query?" + urllib.parse.urlencode(params)
        return (d or self.d).request("GET", path, timeout=120)

    def test_regex_needing_a_large_jit_stack_counts_every_match(self):
        # Counted 0 when the JIT's stack overflowed and the error read as "no match".
        st, _, data = self.query({"regex": '(?:a|b)+"\\}', "count": "1", "since": "2h"})
        self.assertEqual(st, 200, data)
        self.assertEqual(json.loads(data), {"count": N_RECORDS})

    def test_catastrophic_regex_fails_with_400(self):
        # Took 45 s over 1,700 records and answered a count of 0. The pattern's longest
        # literal (message":") is in every record, so the regex runs on each: "}}" alone
        # is in none, and the count is then an exact 0 with the regex never run.
        st, _, data = self.query({"regex": 'message":"(.*a){12}\\}\\}', "count": "1",
                                  "since": "2h"})
        self.assertEqual(st, 400, data)
        err = json.loads(data)["error"]
        self.assertIn("match limit", err)
        self.assertIn("--regex-match-limit", err)

    def test_out_of_range_since_is_400(self):
        for params in ({"since": "9223372036854775807ms"}, {"since": "99999999999999999999d"},
                       {"from": "0000-12-31T00:00:00Z"}):
            with self.subTest(params=params):
                st, _, data = self.query(dict(params, count="1"))
                self.assertEqual(st, 400, data)
                self.assertIn("error", json.loads(data))
        st, _, data = self.query({"since": "9223372036854775807ms"})
        self.assertIn("out of range", json.loads(data)["error"])

    def test_max_queries_503_then_slot_freed_on_disconnect(self):
        # A client that does not read holds the only slot: its output (~36 MB) is more
        # than the socket buffers and the stream's high-water mark take.
        held = self.d.conn(timeout=60)
        held.request("GET", "/v1/query?limit=100000&since=2h")
        r = held.getresponse()
        self.assertEqual(r.status, 200)
        st, hd, data = self.query({"limit": "1", "since": "2h"})
        self.assertEqual(st, 503, data)
        self.assertEqual(hd.get("retry-after"), "1")
        self.assertIn("--max-queries", json.loads(data)["error"])
        held.close()  # the scan is cancelled and the slot freed
        for _ in range(300):
            st, _, data = self.query({"limit": "1", "since": "2h"})
            if st == 200:
                break
            self.assertEqual(st, 503, data)
            time.sleep(0.1)
        self.assertEqual(st, 200, data)
        self.assertEqual(len(data.splitlines()), 1)

    def test_deadline_408_and_byte_budget_503(self):
        self.d.stop()
        d = None
        try:
            # 1 ms cannot scan ~36 MB of records: the deadline stops the query.
            d = self.daemon(args=["--query-timeout", "1ms"], data_dir=self.d.data_dir)
            st, _, data = self.query({"regex": "zzz", "count": "1", "since": "2h"}, d)
            self.assertEqual(st, 408, data)
            self.assertIn("deadline", json.loads(data)["error"])
            d.stop()
            d = self.daemon(args=["--query-max-bytes", "1KiB"], data_dir=self.d.data_dir)
            st, hd, data = self.query({"count": "1", "since": "2h"}, d)
            self.assertEqual(st, 503, data)
            self.assertIn("--query-max-bytes", json.loads(data)["error"])
            d.stop()
        finally:
            if d is not None:
                d.kill()  # one daemon per queue file: the next start needs it gone
            self.d.start()

    def wait_status(self, want, d, tries=300):
        """Asks a 1-record query until it answers want (bounded: tries x 0.1 s)."""
        for _ in range(tries):
            st, _, data = self.query({"limit": "1", "since": "2h"}, d)
            if st == want:
                return
            time.sleep(0.1)
        self.fail("no %d from GET /v1/query; last %d %r" % (want, st, data[:200]))

    def hold_the_only_slot(self, d, attempts=5):
        """Starts the slow count query on its own connection and returns that connection
        once a probe gets 503 (the slow query holds the only slot; its "}}" in a group is
        not read as a literal every match holds, which no record has). A probe can take the
        slot first, and then the slow query is the one refused: that attempt is repeated
        (bounded)."""
        for _ in range(attempts):
            slow = d.conn(timeout=60)
            slow.request("GET", "/v1/query?" + urllib.parse.urlencode(
                {"regex": "(?:(.*a){2}\\}\\})", "count": "1", "since": "2h"}))
            time.sleep(0.5)  # let the daemon take the slow query first
            for _ in range(20):
                st, _, data = self.query({"limit": "1", "since": "2h"}, d)
                if st == 503:
                    return slow
                time.sleep(0.1)
            slow.close()  # it was refused (or finished): try again
        self.fail("the slow query never held the only slot in %d attempts" % attempts)

    def test_disconnect_before_the_first_line_stops_the_scan(self):
        # A count query sends nothing until its end, so the connection waits suspended,
        # where libmicrohttpd does not see the client leave: the scan looks at the socket.
        self.d.stop()
        d = None
        try:
            d = self.daemon(args=["--max-queries", "1", "--regex-match-limit", "2000000000",
                                  "--query-timeout", "0"], data_dir=self.d.data_dir)
            slow = self.hold_the_only_slot(d)
            slow.close()
            self.wait_status(200, d)  # ... until its client left
            d.stop()
        finally:
            if d is not None:
                d.kill()  # one daemon per queue file: the next start needs it gone
            self.d.start()

    def test_sigterm_stops_a_running_query(self):
        # (.*a){2}\}\} backtracks quadratically without reaching a high match limit:
        # ~0.3 s per record, minutes for the set (no deadline: --query-timeout 0).
        # SIGTERM once waited for the scan (41 s in the issue); now the scan stops at the
        # next record. In a group, its "}}" is not read as a literal the records must hold
        # (none does: the regex would never run).
        self.d.stop()
        d = None
        try:
            d = self.daemon(args=["--regex-match-limit", "2000000000", "--query-timeout", "0"],
                            data_dir=self.d.data_dir)
            got = {}

            def ask():
                try:
                    got["r"] = self.query({"regex": "(?:(.*a){2}\\}\\})", "count": "1",
                                           "since": "2h"}, d)
                except OSError as e:  # the daemon closed the connection
                    got["r"] = e
            t = threading.Thread(target=ask)
            t.start()
            time.sleep(1)  # let the scan start (the test holds either way)
            d.stop()  # SIGTERM; fails unless the daemon exits 0 within its stop timeout
            t.join(60)
            self.assertFalse(t.is_alive())
            if isinstance(got["r"], tuple):
                st, hd, data = got["r"]
                self.assertEqual(st, 503, data)
                self.assertIn("shutting down", json.loads(data)["error"])
        finally:
            if d is not None:
                d.kill()  # one daemon per queue file: the next start needs it gone
            self.d.start()


if __name__ == "__main__":
    cltest.main()
