"""End-to-end tests of TLS on the HTTP listener (--tls-cert, --tls-key, --tls-client-ca):
a CA, a server certificate for 127.0.0.1 and client certificates are made in the test with
the openssl CLI; curl and `openssl s_client` are the clients. curl with --cacert gets
answers, without it refuses the server; TLS 1.1 and plain HTTP are refused; with
--tls-client-ca a client certificate from that CA is required and one from another CA is
refused in the handshake; wrong files fail start-up with a clear message."""

import os
import re
import shutil
import subprocess
import unittest

import cltest

HTTPS_RE = re.compile(r"listening on https://127\.0\.0\.1:(\d+)")
TOOL_TIMEOUT = 30


def run(args, cwd, timeout=TOOL_TIMEOUT, stdin=b""):
    p = subprocess.run(args, cwd=cwd, input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def openssl(cwd, *args):
    rc, out, err = run(["openssl"] + list(args), cwd)
    if rc != 0:
        raise AssertionError("openssl %s: %s" % (" ".join(args), err))
    return out


def make_ca(cwd, name, cn):
    openssl(cwd, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", name + ".key", "-out", name + ".crt", "-days", "2", "-subj", "/CN=" + cn)


def make_cert(cwd, name, ca, ext):
    """name.key and name.crt signed by ca, with the extensions in ext (one per line)."""
    openssl(cwd, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name)
    with open(os.path.join(cwd, name + ".ext"), "w") as f:
        f.write(ext)
    openssl(cwd, "x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
            "-CAcreateserial", "-out", name + ".crt", "-days", "2", "-extfile", name + ".ext")


class TlsTestCase(cltest.DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        missing = [t for t in ("openssl", "curl") if not shutil.which(t)]
        if missing:
            msg = "%s not found (Debian packages; scripts/setup.sh installs them)" % missing
            if os.environ.get("CI") == "true":
                raise AssertionError(msg)
            raise unittest.SkipTest(msg)
        cls.dir = cltest.mkdtemp("cl-tls-")
        make_ca(cls.dir, "ca", "cloudlog test CA")
        make_cert(cls.dir, "server", "ca",
                  "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        make_ca(cls.dir, "clientca", "cloudlog test client CA")
        make_cert(cls.dir, "client", "clientca", "extendedKeyUsage=clientAuth\n")
        make_ca(cls.dir, "otherca", "some other CA")
        make_cert(cls.dir, "intruder", "otherca", "extendedKeyUsage=clientAuth\n")

    def path(self, name):
        return os.path.join(self.dir, name)

    def tls_daemon(self, extra=()):
        args = ["--tls-cert", self.path("server.crt"), "--tls-key", self.path("server.key")]
        d = self.daemon(args=args + list(extra), start=False)
        d.start(wait_ready=False)
        m = cltest.wait_for(lambda: HTTPS_RE.search(d.log_text()) or not d.alive(),
                            cltest.START_TIMEOUT, "'listening on https://'", daemon=d)
        self.assertTrue(d.alive(), d.log_tail())
        d.port = int(m.group(1))
        return d

    def curl(self, d, *args, path="/healthz"):
        """curl's exit status and body for https://127.0.0.1:PORT/PATH."""
        rc, out, _ = run(["curl", "-sS", "--max-time", "20"] + list(args) +
                         ["https://127.0.0.1:%d%s" % (d.port, path)], self.dir)
        return rc, out


class ServerTls(TlsTestCase):
    def test_cacert_succeeds_without_fails(self):
        d = self.tls_daemon()
        rc, body = self.curl(d, "--cacert", self.path("ca.crt"))
        self.assertEqual((rc, body), (0, '{"status":"ok"}\n'))
        rc, _ = self.curl(d)
        self.assertEqual(rc, 60, "curl must refuse a server its CAs do not know")
        rc, _ = self.curl(d, "--cacert", self.path("otherca.crt"))
        self.assertEqual(rc, 60)
        # Ingest works over TLS like over plain HTTP.
        rc, body = self.curl(d, "--cacert", self.path("ca.crt"), "-H",
                             "Content-Type: application/json", "--data", '{"message":"over tls"}',
                             path="/v1/logs")
        self.assertEqual(rc, 0)
        self.assertIn('"accepted":1', body)
        d.stop()

    def test_versions_and_plain_http_refused(self):
        d = self.tls_daemon()
        ca = self.path("ca.crt")
        base = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % d.port, "-CAfile", ca]
        rc, out, _ = run(base + ["-tls1_2"], self.dir)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"New, TLSv1\.2, Cipher is ECDHE-ECDSA-(AES(128|256)-GCM|CHACHA20)")
        rc, out, _ = run(base + ["-tls1_3"], self.dir)
        self.assertEqual(rc, 0, out)
        self.assertRegex(out, r"New, TLSv1\.3, ")
        rc, out, _ = run(base + ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"], self.dir)
        self.assertNotEqual(rc, 0, "TLS 1.1 must be refused: " + out)
        rc, out, _ = run(["curl", "-sS", "--max-time", "20",
                          "http://127.0.0.1:%d/healthz" % d.port], self.dir)
        self.assertNotEqual(rc, 0, "plain HTTP on the TLS port must get no answer: " + out)
        # The daemon still serves after the refused handshakes.
        self.assertEqual(self.curl(d, "--cacert", ca)[0], 0)
        d.stop()


class ClientCertificates(TlsTestCase):
    def test_client_ca(self):
        d = self.tls_daemon(["--tls-client-ca", self.path("clientca.crt")])
        ca = ["--cacert", self.path("ca.crt")]
        rc, body = self.curl(d, *ca, "--cert", self.path("client.crt"), "--key",
                             self.path("client.key"))
        self.assertEqual((rc, body), (0, '{"status":"ok"}\n'))
        for version in ("--tlsv1.3", "--tls-max", "1.2"):
            vargs = [version] if version != "--tls-max" else ["--tls-max", "1.2"]
            rc, _ = self.curl(d, *ca, *vargs)
            self.assertNotEqual(rc, 0, "no client certificate must be refused (%s)" % vargs)
            rc, _ = self.curl(d, *ca, *vargs, "--cert", self.path("intruder.crt"), "--key",
                              self.path("intruder.key"))
            self.assertNotEqual(rc, 0, "a certificate from another CA must be refused")
            if version == "--tls-max":
                break
        self.assertIn("tls: client certificate refused", d.log_text())
        rc, _ = self.curl(d, *ca, "--cert", self.path("client.crt"), "--key",
                          self.path("client.key"))
        self.assertEqual(rc, 0)
        d.stop()


class BadConfiguration(TlsTestCase):
    def refused(self, args, reason):
        rc, _, err = cltest.run_cli(["serve", "--listen", "127.0.0.1:0", "--data",
                                     cltest.mkdtemp("cl-data-")] + args, timeout=60)
        self.assertNotEqual(rc, 0, err)
        self.assertIn(reason, err)

    def test_refused_at_start(self):
        crt, key = self.path("server.crt"), self.path("server.key")
        self.refused(["--tls-cert", crt], "--tls-cert and --tls-key go together")
        self.refused(["--tls-cert", crt, "--tls-key", self.path("client.key")],
                     "does not belong to the certificate")
        self.refused(["--tls-cert", self.path("nope.crt"), "--tls-key", key],
                     "cannot read TLS certificate")
        self.refused(["--tls-cert", key, "--tls-key", key], "TLS certificate")
        self.refused(["--tls-cert", crt, "--tls-key", key, "--tls-client-ca", key],
                     "TLS client CA")
        self.refused(["--tls-client-ca", self.path("clientca.crt")],
                     "--tls-client-ca needs --tls-cert")

    def test_unreadable_file_is_a_read_error(self):
        """A path that opens but cannot be read (a directory: EISDIR) is a read error
        naming the file, not an empty certificate."""
        crt, key = self.path("server.crt"), self.path("server.key")
        self.refused(["--tls-cert", self.dir, "--tls-key", key],
                     "cannot read TLS certificate %s: Is a directory" % self.dir)
        self.refused(["--tls-cert", crt, "--tls-key", self.dir],
                     "cannot read TLS key %s: Is a directory" % self.dir)
        self.refused(["--tls-cert", crt, "--tls-key", key, "--tls-client-ca", self.dir],
                     "cannot read TLS client CA %s: Is a directory" % self.dir)

    def test_env_variables(self):
        d = self.daemon(env={"CLOUDLOG_TLS_CERT": self.path("server.crt"),
                             "CLOUDLOG_TLS_KEY": self.path("server.key")}, start=False)
        d.start(wait_ready=False)
        m = cltest.wait_for(lambda: HTTPS_RE.search(d.log_text()) or not d.alive(),
                            cltest.START_TIMEOUT, "'listening on https://'", daemon=d)
        self.assertTrue(d.alive(), d.log_tail())
        d.port = int(m.group(1))
        self.assertEqual(self.curl(d, "--cacert", self.path("ca.crt"))[0], 0)
        d.stop()


if __name__ == "__main__":
    cltest.main()
