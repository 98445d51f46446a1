"""End-to-end tests of --syslog-listen with util-linux `logger` (the real client, RFC 5424
and RFC 3164, TCP with LF and octet-counting framing, UDP) and with raw sockets for what
logger cannot send (RFC 5424 examples with escapes, oversize messages, broken frames,
connection limits, backpressure). Records are read back from the durable queue and
checked field by field."""

import shutil
import socket
import subprocess
import time
import unittest

import cltest
import syslog_util as su

LOGGER = shutil.which("logger")
HOSTNAME = socket.gethostname()


def run_logger(tc, args, stdin=None, timeout=30):
    """Runs logger to completion (never left running); fails the test on an error."""
    p = subprocess.run([LOGGER] + args, input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    tc.assertEqual(p.returncode, 0, "logger %s: %s" % (" ".join(args), p.stderr.decode()))


def send_tcp(port, data, read_back=False, timeout=10):
    """Sends bytes on one TCP connection and closes it (after reading to EOF when
    read_back: the server closed it)."""
    with socket.create_connection((cltest.HOST, port), timeout=timeout) as s:
        s.sendall(data)
        if read_back:
            return s.recv(1)
        s.shutdown(socket.SHUT_WR)
        return None


def send_udp(port, datagrams):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for d in datagrams:
            s.sendto(d, (cltest.HOST, port))


def without_time_quality(sd):
    """logger adds timeQuality to every RFC 5424 message; the tests look at the rest."""
    return {k: v for k, v in (sd or {}).items() if k != "timeQuality"}


class LoggerTest(cltest.DaemonTestCase):
    """util-linux logger sending to the daemon: each transport and format."""

    def setUp(self):
        super().setUp()
        su.require(self, LOGGER, "util-linux logger (bsdutils)")
        self.d, self.tcp, self.udp = su.start_daemon(self)

    def check_host(self, rec):
        self.assertTrue(HOSTNAME.startswith(rec["hostname"]) or rec["hostname"] == HOSTNAME,
                        rec)

    def test_rfc5424_tcp_lf_framing(self):
        run_logger(self, ["--rfc5424", "-T", "-n", cltest.HOST, "-P", str(self.tcp),
                          "-t", "billing", "-p", "local3.warning", "--msgid", "INV42",
                          "--id=4242", "--sd-id", "order@32473", "--sd-param", 'id="A-17"',
                          "--sd-param", 'note="say \\"hi\\" [ok\\]"',
                          "payment declined: card expired"])
        [r] = su.wait_records(self, self.d, 1)
        self.assertEqual(r["level"], "warn")
        self.assertEqual(r["service"], "billing")
        self.assertEqual(r["message"], "payment declined: card expired")
        self.assertEqual(r["facility"], "local3")
        self.assertEqual(r["procid"], "4242")
        self.assertEqual(r["msgid"], "INV42")
        self.check_host(r)
        self.assertEqual(without_time_quality(r["sd"]),
                         {"order@32473": {"id": "A-17", "note": 'say "hi" [ok]'}})
        su.near_now(self, r["timestamp"])

    def test_rfc5424_tcp_octet_counting_many_lines(self):
        lines = "".join("line %03d with \u00e9 and \"quotes\"\n" % i for i in range(200))
        run_logger(self, ["--rfc5424", "--octet-count", "-T", "-n", cltest.HOST, "-P",
                          str(self.tcp), "-t", "batchjob", "-p", "daemon.debug"],
                   stdin=lines.encode())
        recs = su.wait_records(self, self.d, 200)
        self.assertEqual(len(recs), 200)
        self.assertEqual([r["message"] for r in recs],
                         ["line %03d with \u00e9 and \"quotes\"" % i for i in range(200)])
        for r in recs:
            self.assertEqual((r["level"], r["service"], r["facility"]),
                             ("debug", "batchjob", "daemon"))
        self.assertEqual(su.metric(self.d, "cloudlog_syslog_messages_total", 'transport="tcp"'),
                         200)

    def test_rfc3164_udp(self):
        run_logger(self, ["--rfc3164", "-d", "-n", cltest.HOST, "-P", str(self.udp),
                          "-t", "cron", "--id=77", "-p", "cron.err", "job failed: exit 3"])
        [r] = su.wait_records(self, self.d, 1)
        self.assertEqual(r["level"], "error")
        self.assertEqual(r["service"], "cron")
        self.assertEqual(r["procid"], "77")
        self.assertEqual(r["facility"], "cron")
        self.assertEqual(r["message"], "job failed: exit 3")
        self.check_host(r)
        self.assertNotIn("sd", r)
        su.near_now(self, r["timestamp"])
        self.assertEqual(su.metric(self.d, "cloudlog_syslog_messages_total", 'transport="udp"'),
                         1)

    def test_rfc3164_tcp(self):
        run_logger(self, ["--rfc3164", "-T", "-n", cltest.HOST, "-P", str(self.tcp),
                          "-t", "sshd", "-p", "authpriv.notice", "Accepted publickey for ops"])
        [r] = su.wait_records(self, self.d, 1)
        self.assertEqual((r["level"], r["service"], r["facility"], r["message"]),
                         ("info", "sshd", "authpriv", "Accepted publickey for ops"))
        self.check_host(r)

    def test_rfc5424_udp_emergency(self):
        run_logger(self, ["--rfc5424", "-d", "-n", cltest.HOST, "-P", str(self.udp),
                          "-t", "kernel-ish", "-p", "local7.emerg", "disk on fire"])
        [r] = su.wait_records(self, self.d, 1)
        self.assertEqual((r["level"], r["service"], r["facility"], r["message"]),
                         ("fatal", "kernel-ish", "local7", "disk on fire"))


class RawSyslogTest(cltest.DaemonTestCase):
    """Bytes logger cannot produce: the RFC's own examples, limits and broken input."""

    def test_rfc5424_examples_octet_counted(self):
        # the RFC's examples are from 2003: a record-age limit, where the daemon has one
        # (CLOUDLOG_MAX_RECORD_AGE), is turned off; a daemon without it ignores the variable
        d, tcp, _ = su.start_daemon(self, env={"CLOUDLOG_MAX_RECORD_AGE": "0"})
        msgs = [
            b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - "
            b"\xef\xbb\xbf'su root' failed for lonvick on /dev/pts/8",
            b"<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - "
            b"%% It's time to make the do-nuts.",
            b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
            b"[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" eventID=\"1011\"]"
            b"[examplePriority@32473 class=\"high\"]",
            b"<14>1 - - multi - - - first line\nsecond line",  # octet counting keeps LF
        ]
        send_tcp(tcp, b"".join(b"%d %s" % (len(m), m) for m in msgs))
        a, b, c, multi = su.wait_records(self, d, 4)
        self.assertEqual(multi["message"], "first line\nsecond line")
        self.assertEqual(a, {"timestamp": "2003-10-11T22:14:15.003Z", "level": "fatal",
                             "service": "su", "message": "'su root' failed for lonvick on "
                             "/dev/pts/8", "facility": "auth",
                             "hostname": "mymachine.example.com", "msgid": "ID47"})
        self.assertEqual(b, {"timestamp": "2003-08-24T12:14:15.000Z", "level": "info",
                             "service": "myproc", "message": "%% It's time to make the do-nuts.",
                             "facility": "local4", "hostname": "192.0.2.1", "procid": "8710"})
        self.assertEqual(c["sd"], {"exampleSDID@32473": {"iut": "3", "eventSource": "Application",
                                                         "eventID": "1011"},
                                   "examplePriority@32473": {"class": "high"}})
        self.assertEqual(c["message"], "")

    def test_oversize_messages_truncated_and_counted(self):
        d, tcp, udp = su.start_daemon(self, ["--syslog-max-message", "1KiB"])
        big = b"x" * 3000
        # LF framing, then octet counting on a second connection, then a datagram
        send_tcp(tcp, b"<14>lf: " + big + b"\n<14>lf: after\n")
        body = b"<14>octet: " + big
        send_tcp(tcp, b"%d %s6 <14>ok" % (len(body), body))
        send_udp(udp, [b"<14>udp: " + big])
        recs = su.wait_records(self, d, 5)
        by_msg = sorted(r["message"] for r in recs)
        self.assertEqual(by_msg, sorted(["x" * (1024 - 8), "after", "x" * (1024 - 11), "ok",
                                         "x" * (1024 - 9)]))
        self.assertEqual(su.metric(d, "cloudlog_syslog_truncated_total"), 3)

    def test_bad_octet_count_closes_connection(self):
        d, tcp, _ = su.start_daemon(self)
        got = send_tcp(tcp, b"5 <14>ax7 <14>bbb", read_back=True)
        self.assertEqual(got, b"")  # closed by the daemon
        [r] = su.wait_records(self, d, 1)
        self.assertEqual(r["message"], "a")
        self.assertEqual(su.metric(d, "cloudlog_syslog_dropped_total", 'reason="framing"'), 1)

    def test_connection_limit(self):
        d, tcp, _ = su.start_daemon(self, ["--syslog-max-connections", "1"])
        with socket.create_connection((cltest.HOST, tcp), timeout=10) as first:
            first.sendall(b"<14>first: held open\n")
            su.wait_records(self, d, 1)
            with socket.create_connection((cltest.HOST, tcp), timeout=10) as second:
                self.assertEqual(second.recv(1), b"")  # refused: closed at once
            first.sendall(b"<14>first: still served\n")
            su.wait_records(self, d, 2)
        self.assertEqual(su.metric(d, "cloudlog_syslog_connections_refused_total"), 1)

    def test_invalid_utf8_and_control_bytes_kept(self):
        d, _, udp = su.start_daemon(self)
        bsd_now = time.strftime("%b %e %H:%M:%S", time.gmtime()).encode()
        send_udp(udp, [b"<13>" + bsd_now + b" host app[1]: bad \xff byte\x01 tab\tend\n\x00"])
        [r] = su.wait_records(self, d, 1)
        self.assertEqual(r["message"], "bad \ufffd byte\x01 tab\tend")
        self.assertEqual((r["service"], r["procid"], r["hostname"]), ("app", "1", "host"))

    def test_udp_dropped_when_queue_full(self):
        # one queued message fills a queue of depth 1; nothing drains it (no processor)
        d, tcp, udp = su.start_daemon(self, ["--queue-max-depth", "1"])
        send_udp(udp, [b"<14>first"])
        su.wait_records(self, d, 1)
        send_udp(udp, [b"<14>dropped %d" % i for i in range(5)])
        su.wait_metric(self, d, "cloudlog_syslog_dropped_total", 'reason="queue_full"', 5)
        # TCP is not dropped: the connection stops being read until the queue has room
        with socket.create_connection((cltest.HOST, tcp), timeout=10) as s:
            s.sendall(b"<14>held back\n")
            deadline = time.monotonic() + 30
            for _ in range(600):
                if "not reading until it accepts" in d.log_text() or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            self.assertIn("syslog: queue full", d.log_text())
            self.assertEqual(len(su.records(d)), 1)

    def test_sigterm_commits_what_was_read(self):
        d, tcp, _ = su.start_daemon(self)
        n = 5000
        send_tcp(tcp, b"".join(b"<14>1 - - app - - - m%d\n" % i for i in range(n)))
        su.wait_metric(self, d, "cloudlog_syslog_messages_total", 'transport="tcp"', n)
        d.stop()
        msgs = [r["message"] for r in su.records(d)]
        self.assertEqual(msgs, ["m%d" % i for i in range(n)])

    def test_metrics_pass_promtool(self):
        promtool = shutil.which("promtool")
        if not promtool:
            raise unittest.SkipTest("promtool not found (Debian package prometheus)")
        d, tcp, udp = su.start_daemon(self, ["--syslog-max-message", "1KiB"])
        send_tcp(tcp, b"<14>lf: " + b"y" * 2000 + b"\n")
        send_udp(udp, [b"<14>udp"])
        su.wait_records(self, d, 2)
        st, _, text = d.request("GET", "/metrics")
        self.assertEqual(st, 200)
        p = subprocess.run([promtool, "check", "metrics"], input=text, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout.decode())
        for line in ['cloudlog_syslog_messages_total{transport="tcp"} 1',
                     'cloudlog_syslog_messages_total{transport="udp"} 1',
                     "cloudlog_syslog_truncated_total 1",
                     'cloudlog_syslog_dropped_total{reason="invalid"} 0',
                     "cloudlog_ingested_log_count_total 2"]:
            self.assertIn(line, text.decode().splitlines())

    def test_env_var_and_comma_list(self):
        d = self.daemon(args=["--no-processor"], env={
            "CLOUDLOG_SYSLOG_LISTEN": "tcp://127.0.0.1:0,tcp://127.0.0.1:0,udp://127.0.0.1:0"})
        ports = su.syslog_ports(d)
        self.assertEqual((len(ports["tcp"]), len(ports["udp"])), (2, 1))
        for p in ports["tcp"]:
            send_tcp(p, b"<14>1 - - envtest - - - via %d\n" % p)
        recs = su.wait_records(self, d, 2)
        self.assertEqual(sorted(r["message"] for r in recs),
                         sorted("via %d" % p for p in ports["tcp"]))

    def test_bad_configuration_refused(self):
        data = cltest.mkdtemp()
        for spec, want in [("http://127.0.0.1:0", "invalid --syslog-listen"),
                           ("tcp://0.0.0.0:0", "syslog has no authentication"),
                           ("udp://127.0.0.1", "invalid listen address")]:
            rc, out = cltest.expect_refusal(["serve", "--listen", "127.0.0.1:0", "--data", data,
                                             "--syslog-listen", spec])
            self.assertNotEqual(rc, 0, out)
            self.assertIn(want, out)
        with socket.socket() as taken:  # a port in use: start-up fails and cleans up
            taken.bind((cltest.HOST, 0))
            taken.listen(1)
            spec = "tcp://127.0.0.1:%d" % taken.getsockname()[1]
            rc, out = cltest.expect_refusal(["serve", "--listen", "127.0.0.1:0", "--data", data,
                                             "--syslog-listen", "udp://127.0.0.1:0," + spec])
            self.assertNotEqual(rc, 0, out)
            self.assertIn("cannot listen for syslog on " + spec, out)
        rc, out = cltest.expect_refusal(["serve", "--listen", "127.0.0.1:0", "--data", data,
                                         "--syslog-listen", "udp://127.0.0.1:0",
                                         "--syslog-max-message", "100"])
        self.assertIn("--syslog-max-message must be between", out)


if __name__ == "__main__":
    cltest.main()
