"""End-to-end tests of syslog over TLS (RFC 5425: --syslog-listen tls://HOST:PORT with the
listener's --tls-cert/--tls-key, and --tls-client-ca for client certificates). The CA and
certificates are made in the test with the openssl CLI; the senders are syslog-ng (its
syslog() destination with transport("tls"), a real RFC 5425 client) and Python's ssl
module. Records are read back from the durable queue (no processor)."""

import datetime
import os
import re
import socket
import ssl

import cltest
import syslog_util as su
from test_syslog_ng import SYSLOG_NG, SyslogNg
from test_tls import TlsTestCase

TLS_PORT_RE = re.compile(r"syslog: listening on tls://127\.0\.0\.1:(\d+)")

NG_CONF = """@version: 3.38
options {{ keep-hostname(yes); chain-hostnames(no); use-dns(no); dns-cache(no); stats-freq(0);
          keep-timestamp(yes); flush-lines(1); }};
source s_file {{ file("{input}" flags(syslog-protocol) follow-freq(0.1)); }};
destination d_tls {{ syslog("127.0.0.1" port({port}) transport("tls")
                             tls(ca-file("{ca}") peer-verify(required-trusted))); }};
log {{ source(s_file); destination(d_tls); }};
"""


def frame(msg):
    """RFC 5425 octet counting: MSG-LEN SP SYSLOG-MSG."""
    data = msg.encode()
    return b"%d " % len(data) + data


class SyslogTls(TlsTestCase):
    def tls_syslog_daemon(self, extra=()):
        args = ["--no-processor", "--syslog-listen", "tls://127.0.0.1:0", "--tls-cert",
                self.path("server.crt"), "--tls-key", self.path("server.key")]
        d = self.daemon(args=args + list(extra), start=False)
        d.start(wait_ready=False)
        m = cltest.wait_for(lambda: TLS_PORT_RE.search(d.log_text()) or not d.alive(),
                            cltest.START_TIMEOUT, "'syslog: listening on tls://'", daemon=d)
        self.assertTrue(d.alive(), d.log_tail())
        return d, int(m.group(1))

    def send(self, port, messages, cert=None):
        """Sends messages over TLS (verifying the server against the test CA); returns
        None, or the error the handshake or the first write raised."""
        ctx = ssl.create_default_context(cafile=self.path("ca.crt"))
        if cert:
            ctx.load_cert_chain(self.path(cert + ".crt"), self.path(cert + ".key"))
        try:
            with socket.create_connection((cltest.HOST, port), timeout=20) as raw:
                with ctx.wrap_socket(raw, server_hostname=cltest.HOST) as s:
                    for m in messages:
                        s.sendall(frame(m))
                    # A refused client certificate shows on the first read (TLS 1.3 sends
                    # the alert after the client's Finished): wait for the server's close.
                    s.shutdown(socket.SHUT_WR)
                    s.recv(1)
        except (ssl.SSLError, OSError) as e:
            return e
        return None

    def test_python_client(self):
        d, port = self.tls_syslog_daemon()
        msgs = ["<165>1 2026-12-07T10:00:%02d.000Z web-1 shop 7 ID%d - over tls %d" % (i, i, i)
                for i in range(20)]
        self.assertIsNone(self.send(port, msgs))
        recs = su.wait_records(self, d, 20)
        self.assertEqual([r["message"] for r in recs], ["over tls %d" % i for i in range(20)])
        self.assertEqual({(r["service"], r["level"], r["hostname"]) for r in recs},
                         {("shop", "info", "web-1")})
        # Plain TCP on the TLS port stores nothing and the listener keeps working.
        with socket.create_connection((cltest.HOST, port), timeout=20) as s:
            s.sendall(frame("<165>1 - web-1 shop - - - plain text"))
        self.assertIsNone(self.send(port, ["<165>1 - web-1 shop - - - after plain"]))
        recs = su.wait_records(self, d, 21)
        self.assertEqual([r["message"] for r in recs][20:], ["after plain"])
        d.stop()

    def test_syslog_ng_tls_destination(self):
        su.require(self, SYSLOG_NG, "syslog-ng (syslog-ng-core)")
        d, port = self.tls_syslog_daemon()
        work = cltest.mkdtemp("cl-syslog-ng-tls-")
        input_path = os.path.join(work, "in.log")
        now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        stamp = (now - datetime.timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
        with open(input_path, "w") as f:
            f.write("<11>1 %s db-1 pg 99 - - disk slow, sent with TLS\n" % stamp)
        ng = SyslogNg(work, NG_CONF.format(input=input_path, port=port, ca=self.path("ca.crt")))
        ng.start()
        try:
            [r] = su.wait_records(self, d, 1, timeout=60, check=ng.check_running)
        finally:
            ng.stop()
        self.assertEqual((r["message"], r["service"], r["level"], r["hostname"]),
                         ("disk slow, sent with TLS", "pg", "error", "db-1"))
        d.stop()

    def test_client_certificates(self):
        d, port = self.tls_syslog_daemon(["--tls-client-ca", self.path("clientca.crt")])
        self.assertIsNotNone(self.send(port, ["<14>1 - h app - - - no certificate"]))
        self.assertIsNotNone(self.send(port, ["<14>1 - h app - - - wrong CA"], cert="intruder"))
        self.assertIsNone(self.send(port, ["<14>1 - h app - - - right CA"], cert="client"))
        recs = su.wait_records(self, d, 1)
        self.assertEqual([r["message"] for r in recs], ["right CA"])
        d.stop()

    def test_tls_listener_needs_certificate(self):
        rc, _, err = cltest.run_cli(["serve", "--listen", "127.0.0.1:0", "--data",
                                     cltest.mkdtemp("cl-data-"), "--syslog-listen",
                                     "tls://127.0.0.1:0"], timeout=60)
        self.assertNotEqual(rc, 0)
        self.assertIn("needs --tls-cert and --tls-key", err)


if __name__ == "__main__":
    cltest.main()
