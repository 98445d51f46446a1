"""End-to-end test with syslog-ng as the sender: an unprivileged, foreground syslog-ng
reads RFC 5424 lines from a file and forwards them through its network() destination
over TCP (BSD format, LF framing) and UDP, and its syslog() destination (RFC 5424, octet
counting) over TCP. Both TCP destinations use one daemon port, so framing is detected per
connection. The stored records are checked field by field."""

import datetime
import os
import shutil
import signal
import subprocess

import cltest
import syslog_util as su

SYSLOG_NG = shutil.which("syslog-ng") or (
    "/usr/sbin/syslog-ng" if os.access("/usr/sbin/syslog-ng", os.X_OK) else None)

CONF = """@version: 3.38
options {{ keep-hostname(yes); chain-hostnames(no); use-dns(no); dns-cache(no); stats-freq(0);
          keep-timestamp(yes); flush-lines(1); }};
source s_file {{ file("{input}" flags(syslog-protocol) follow-freq(0.1)); }};
rewrite r_tcp {{ set("tcp: ${{MESSAGE}}" value("MESSAGE")); }};
rewrite r_udp {{ set("udp: ${{MESSAGE}}" value("MESSAGE")); }};
rewrite r_5424 {{ set("5424: ${{MESSAGE}}" value("MESSAGE")); }};
destination d_tcp {{ network("127.0.0.1" port({tcp}) transport("tcp") persist-name("d_tcp")
                              send-time-zone("+00:00")); }};
destination d_udp {{ network("127.0.0.1" port({udp}) transport("udp")
                              send-time-zone("+00:00")); }};
destination d_5424 {{ syslog("127.0.0.1" port({tcp}) transport("tcp") persist-name("d_5424")); }};
log {{ source(s_file); rewrite(r_tcp); destination(d_tcp); }};
log {{ source(s_file); rewrite(r_udp); destination(d_udp); }};
log {{ source(s_file); rewrite(r_5424); destination(d_5424); }};
"""


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S")


class SyslogNg:
    """A foreground syslog-ng with its own config, persist, pid and control files; it is
    registered with cltest so it is killed at exit even if the test fails."""

    def __init__(self, workdir, conf_text):
        self.dir = workdir
        self.conf = os.path.join(workdir, "syslog-ng.conf")
        with open(self.conf, "w") as f:
            f.write(conf_text)
        self.log_path = os.path.join(workdir, "syslog-ng.log")
        self.proc = None

    def start(self):
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [SYSLOG_NG, "-F", "--no-caps", "-f", self.conf,
             "--persist-file", os.path.join(self.dir, "syslog-ng.persist"),
             "--pidfile", os.path.join(self.dir, "syslog-ng.pid"),
             "--control", os.path.join(self.dir, "syslog-ng.ctl")],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL, preexec_fn=cltest._child_setup)
        log.close()
        cltest._live_procs.append(self.proc)

    def log_text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def check_running(self):
        if self.proc.poll() is not None:
            raise AssertionError("syslog-ng exited with %s:\n%s"
                                 % (self.proc.returncode, self.log_text()[-3000:]))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


class SyslogNgTest(cltest.DaemonTestCase):

    def test_network_and_syslog_destinations(self):
        su.require(self, SYSLOG_NG, "syslog-ng (syslog-ng-core)")
        d, tcp, udp = su.start_daemon(self)
        work = cltest.mkdtemp("cl-syslog-ng-")
        input_path = os.path.join(work, "in.log")
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        t1, t2 = now - datetime.timedelta(seconds=5), now - datetime.timedelta(seconds=3)
        # t2 written in +01:00: a BSD timestamp has no zone, so network() is told to send
        # UTC (send-time-zone, as docs/shippers.md recommends); RFC 5424 carries the zone
        t2_plus1 = (t2 + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S") + "+01:00"
        lines = [
            '<165>1 %s.250Z web-7 shop 321 ORD7 [order@32473 id="A-1" note="say \\"hi\\""] '
            'order placed' % iso(t1),
            "<11>1 %s db-1 pg 99 - - disk slow" % t2_plus1,
        ]
        with open(input_path, "w") as f:
            f.write("\n".join(lines) + "\n")
        ng = SyslogNg(work, CONF.format(input=input_path, tcp=tcp, udp=udp))
        ng.start()
        try:
            recs = su.wait_records(self, d, 6, timeout=60, check=ng.check_running)
        finally:
            ng.stop()
        by_msg = {r["message"]: r for r in recs}
        self.assertEqual(len(recs), 6, recs)
        t1_text, t2_text = iso(t1), iso(t2)
        for via in ("tcp", "udp", "5424"):
            a = by_msg["%s: order placed" % via]
            b = by_msg["%s: disk slow" % via]
            self.assertEqual((a["level"], a["service"], a["facility"], a["hostname"], a["procid"]),
                             ("info", "shop", "local4", "web-7", "321"), a)
            self.assertEqual((b["level"], b["service"], b["facility"], b["hostname"], b["procid"]),
                             ("error", "pg", "user", "db-1", "99"), b)
            # BSD and syslog-ng's default RFC 5424 template carry whole seconds
            self.assertEqual(a["timestamp"][:19], t1_text, a)
            self.assertEqual(b["timestamp"][:19], t2_text, b)
        five = by_msg["5424: order placed"]
        self.assertEqual(five["msgid"], "ORD7")
        self.assertEqual(five["sd"]["order@32473"], {"id": "A-1", "note": 'say "hi"'})
        self.assertIn("sequenceId", five["sd"]["meta"])  # syslog-ng's own SD element
        self.assertNotIn("msgid", by_msg["tcp: order placed"])
        self.assertEqual(su.metric(d, "cloudlog_syslog_messages_total", 'transport="tcp"'), 4)
        self.assertEqual(su.metric(d, "cloudlog_syslog_messages_total", 'transport="udp"'), 2)
        self.assertIsNotNone(ng.proc.poll())


if __name__ == "__main__":
    cltest.main()
