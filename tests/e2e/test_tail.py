"""End-to-end tests of `cloudlog tail`: the newest N records oldest first, filters,
and -f following a running daemon (each new record exactly once, SIGTERM/SIGINT and a
closed stdout end it with status 0)."""

import json
import os
import select
import signal
import subprocess
import time

import cltest

NOW_MS = int(time.time() * 1000)
SERVICES = ["api", "web"]
LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"]
READ_TIMEOUT = 45.0  # ASan builds and the 500 ms flush age: generous but bounded


def make_records(n):
    """n records over the last 30 minutes, one second apart; seq gives their order."""
    return [{"message": "request %d %s" % (i, "needle" if i % 4 == 0 else "hay"),
             "service": SERVICES[i % 2], "level": LEVELS[i % 6],
             "ts": NOW_MS - 30 * 60 * 1000 + i * 1000, "seq": i} for i in range(n)]


def seqs(out):
    return [json.loads(l)["seq"] for l in out.splitlines()]


class Reader:
    """Non-blocking line reader of a child's stdout with deadlines."""

    def __init__(self, proc):
        self.proc = proc
        self.fd = proc.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.buf = b""
        self.lines = []
        self.eof = False

    def pump(self, timeout):
        r, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not r:
            return
        data = os.read(self.fd, 65536)
        if not data:
            self.eof = True
            return
        self.buf += data
        *done, self.buf = self.buf.split(b"\n")
        self.lines.extend(json.loads(l) for l in done)

    def until(self, pred, timeout=READ_TIMEOUT):
        """Reads until pred(lines) holds; fails on timeout, EOF or a child exit."""
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.05) + 100):
            if pred(self.lines):
                return self.lines
            left = deadline - time.monotonic()
            if left <= 0 or self.eof:
                break
            self.pump(min(left, 0.2))
        raise AssertionError("tail output did not arrive (eof=%s, rc=%s): %r"
                             % (self.eof, self.proc.poll(), self.lines[-20:]))

    def drain_for(self, seconds):
        """Collects whatever arrives during the next seconds."""
        deadline = time.monotonic() + seconds
        for _ in range(int(seconds / 0.05) + 100):
            left = deadline - time.monotonic()
            if left <= 0 or self.eof:
                break
            self.pump(min(left, 0.2))
        return self.lines


class TailOnce(cltest.DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cltest.Daemon(args=["--flush-age", "500ms"]).start()
        cls.recs = make_records(240)
        for i in range(0, len(cls.recs), 60):
            st, _, js = cls.d.post_logs(cls.recs[i:i + 60])
            assert st == 202, js
        cltest.wait_drained(cls.d.data_dir, daemon=cls.d)

    @classmethod
    def tearDownClass(cls):
        cls.d.stop()

    def tail(self, *args):
        rc, out, err = cltest.run_cli(["tail", "--data", self.d.data_dir] + list(args))
        self.assertEqual(rc, 0, err)
        return out

    def expect(self, pred, n):
        got = sorted((r for r in self.recs if pred(r)), key=lambda r: r["ts"])
        return [r["seq"] for r in got[-n:]] if n else []

    def test_n5_newest_oldest_first(self):
        self.assertEqual(seqs(self.tail("-n", "5")), self.expect(lambda r: True, 5))
        self.assertEqual(seqs(self.tail("-n5")), self.expect(lambda r: True, 5))
        self.assertEqual(seqs(self.tail("--lines", "5")), self.expect(lambda r: True, 5))

    def test_default_is_10_and_zero_prints_nothing(self):
        self.assertEqual(seqs(self.tail()), self.expect(lambda r: True, 10))
        self.assertEqual(self.tail("-n", "0"), "")

    def test_filters(self):
        got = seqs(self.tail("-n", "7", "--service", "api", "--level", "warn+"))
        self.assertEqual(got, self.expect(
            lambda r: r["service"] == "api" and LEVELS.index(r["level"]) >= 3, 7))
        got = seqs(self.tail("-n", "6", "--grep", "NEEDLE", "-i"))
        self.assertEqual(got, self.expect(lambda r: "needle" in r["message"], 6))
        self.assertEqual(seqs(self.tail("--where", "seq=17")), [17])
        got = seqs(self.tail("-n", "4", "--regex", r'"level":"(error|fatal)"', "--service", "w*"))
        self.assertEqual(got, self.expect(
            lambda r: r["service"] == "web" and r["level"] in ("error", "fatal"), 4))
        self.assertEqual(self.tail("--service", "nosuch"), "")

    def test_since_limits_the_range(self):
        # the records span 30 to 26 minutes ago
        self.assertEqual(self.tail("--since", "1m"), "")
        got = seqs(self.tail("-n", "1000", "--since", "29m"))
        self.assertTrue(got and got[-1] == 239 and got[0] > 0, got)
        self.assertEqual(got, list(range(got[0], 240)))

    def test_text_and_csv(self):
        out = self.tail("-n", "2", "--format", "text")
        lines = out.splitlines()
        self.assertEqual(len(lines), 2)
        self.assertNotIn("\033", out)  # not a terminal: no colours
        self.assertIn("request 239 hay", lines[1])
        self.assertIn("seq=239", lines[1])
        out = self.tail("-n", "2", "--format", "csv")
        self.assertEqual(out.split("\r\n")[0], "timestamp,level,service,message,fields")
        self.assertEqual(len(out.split("\r\n")), 4)

    def test_usage_errors(self):
        for args in (["--level", "loud"], ["--since", "soon"], ["--regex", "("],
                     ["--where", "novalue"], ["-n", "-1"], ["--interval", "0"],
                     ["--bogus"]):
            rc, out, err = cltest.run_cli(["tail", "--data", self.d.data_dir] + args)
            self.assertEqual(rc, 2, (args, out, err))
            self.assertEqual(out, "")
        rc, out, _ = cltest.run_cli(["tail", "--help"])
        self.assertEqual(rc, 0)
        for word in ("--follow", "--lines", "--interval", "--window", "--since", "--where"):
            self.assertIn(word, out)


class TailTies(cltest.DaemonTestCase):
    def test_equal_timestamps_give_the_last_records_in_stored_order(self):
        d = self.daemon(args=["--flush-age", "500ms"])
        ts = int(time.time() * 1000) - 1000
        st, _, js = d.post_logs([{"service": "api", "message": "m%d" % i, "ts": ts, "seq": i}
                                 for i in range(8)] +
                                [{"service": "api", "message": "old", "ts": ts - 1, "seq": -1}])
        self.assertEqual(st, 202, js)
        cltest.wait_drained(d.data_dir, daemon=d)
        for n, want in ((3, [5, 6, 7]), (8, list(range(8))), (9, [-1] + list(range(8)))):
            rc, out, err = cltest.run_cli(["tail", "-n", str(n), "--data", d.data_dir])
            self.assertEqual((rc, seqs(out)), (0, want), err)


class TailFollow(cltest.DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
            p.stdout.close()
        super().tearDown()

    def start_tail(self, d, *args):
        p = cltest.spawn(["tail", "-f", "--interval", "100ms", "--data", d.data_dir] + list(args),
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.procs.append(p)
        return p, Reader(p)

    def post(self, d, recs):
        st, _, js = d.post_logs(recs)
        self.assertEqual(st, 202, js)

    def stop(self, p, sig=signal.SIGTERM):
        p.send_signal(sig)
        try:
            rc = p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
            raise AssertionError("tail -f did not exit after signal %d" % sig)
        self.assertEqual(rc, 0)

    def test_follow_prints_new_records_once_in_order(self):
        d = self.daemon(args=["--flush-age", "500ms"])
        now = int(time.time() * 1000)
        self.post(d, [{"service": "api", "level": "error", "message": "before %d" % i,
                       "ts": now - 60000 + i, "seq": i} for i in range(3)])
        cltest.wait_drained(d.data_dir, daemon=d)
        p, r = self.start_tail(d, "-n", "2", "--level", "error+")
        self.assertEqual([x["seq"] for x in r.until(lambda l: len(l) >= 2)], [1, 2])
        want = []
        for batch in range(3):
            # one request: timestamps out of order, mixed levels and services
            recs = []
            for i in range(6):
                seq = 100 + batch * 10 + i
                recs.append({"service": SERVICES[i % 2], "level": "error" if i % 3 else "info",
                             "message": "after %d" % seq, "ts": now + 5000 - i * 10, "seq": seq})
            self.post(d, recs)
            exp = sorted((x for x in recs if x["level"] == "error"), key=lambda x: x["ts"])
            want += [x["seq"] for x in exp]
            n = len(want) + 2
            r.until(lambda l: len(l) >= n)
            self.assert_each_object_in_order(r.lines[2:], want, "batch %d" % batch)
        cltest.wait_drained(d.data_dir, daemon=d)
        got = r.drain_for(1.5)  # several more polls: no repeats
        self.assertEqual([x["seq"] for x in got[:2]], [1, 2])
        self.assert_each_object_in_order(got[2:], want, "after draining")
        self.stop(p)

    def assert_each_object_in_order(self, lines, want, what):
        """The two services of a request land in two objects, which may be published in
        different polls: every record exactly once, and each service's (one object per
        request) in timestamp order as `want` lists them."""
        got = [x["seq"] for x in lines]
        self.assertEqual(sorted(got), sorted(want), what)
        for svc in SERVICES:
            mine = {x["seq"] for x in lines if x["service"] == svc}
            self.assertEqual([s for s in got if s in mine], [s for s in want if s in mine],
                             "%s: %s" % (what, svc))

    def test_follow_from_empty_store_and_sigint(self):
        d = self.daemon(args=["--flush-age", "500ms"])
        self.post(d, [{"service": "web", "message": "warm-up", "seq": 0}])
        cltest.wait_drained(d.data_dir, daemon=d)
        p, r = self.start_tail(d, "-n", "0", "--where", "tag=x")
        r.drain_for(0.5)
        self.assertEqual(r.lines, [])
        self.post(d, [{"service": "web", "message": "m%d" % i, "tag": "x" if i % 2 else "y",
                       "seq": i} for i in range(1, 9)])
        r.until(lambda l: len(l) >= 4)
        self.assertEqual(sorted(x["seq"] for x in r.drain_for(1.0)), [1, 3, 5, 7])
        self.stop(p, signal.SIGINT)

    def test_closed_stdout_exits_zero(self):
        d = self.daemon(args=["--flush-age", "500ms"])
        self.post(d, [{"service": "api", "message": "x%d" % i, "seq": i} for i in range(3)])
        cltest.wait_drained(d.data_dir, daemon=d)
        p, r = self.start_tail(d, "-n", "3")
        r.until(lambda l: len(l) >= 3)
        p.stdout.close()  # like `| head -3` exiting
        deadline = time.monotonic() + READ_TIMEOUT
        for i in range(200):
            if p.poll() is not None or time.monotonic() > deadline:
                break
            self.post(d, [{"service": "api", "message": "y%d" % i, "seq": 1000 + i}])
            time.sleep(0.3)
        self.assertEqual(p.poll(), 0, "tail -f should exit 0 once stdout is closed")


if __name__ == "__main__":
    cltest.main()
