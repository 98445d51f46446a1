"""End-to-end tests of API keys and of the refusal to expose an unauthenticated API."""

import cltest

# These tests read the queue back; no processor may drain it.
cltest.ingest_only()

KEYS = "# cloudlog keys\n\nkey-one\n  key-two  \n#key-three\n"


def write_keys(text=KEYS):
    return cltest.write_key_file(text)


class ApiKeys(cltest.ClassDaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cltest.Daemon(args=["--api-key-file", write_keys()]).start()

    def count(self):
        return len(self.d.records())

    def post(self, auth, body=None, ct="application/json"):
        h = {} if auth is None else {"Authorization": auth}
        return self.d.post_logs(body or {"message": "auth"}, content_type=ct, headers=h)

    def test_good_keys_accepted(self):
        for auth in ("Bearer key-one", "Bearer key-two", "bearer key-one"):
            with self.subTest(auth=auth):
                before = self.count()
                self.assertAccepted(self.post(auth), 1)
                self.assertEqual(self.count(), before + 1)

    def test_bad_or_missing_key_401(self):
        for auth in (None, "", "Bearer", "Bearer ", "Bearer key-three", "Bearer # cloudlog keys",
                     "Bearer key-on", "Bearer key-one-extra", "Bearer KEY-ONE",
                     "Basic a2V5LW9uZQ==", "key-one", "Token key-one"):
            with self.subTest(auth=auth):
                before = self.count()
                st, hd, js = self.post(auth)
                self.assertEqual(st, 401, "Authorization %r -> %s %r" % (auth, st, js))
                self.assertTrue(hd.get("www-authenticate", "").startswith("Bearer"), hd)
                self.assertIsInstance(js, dict)
                self.assertIn("error", js)
                self.assertEqual(self.count(), before)

    def test_auth_checked_before_body(self):
        # Without a key, a bad body or media type must not reveal anything but 401.
        for body, ct in (("{not json", "application/json"), ('{"message":"x"}', "image/png")):
            with self.subTest(ct=ct):
                st, _, _ = self.post(None, body, ct)
                self.assertEqual(st, 401)
        st, _, _ = self.d.raw(b"POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              b"Content-Length: 99999999999\r\n\r\n")
        self.assertEqual(st, 401)

    def test_health_endpoints_need_no_key(self):
        for path in ("/healthz", "/readyz"):
            st, _, _ = self.d.request("GET", path)
            self.assertEqual(st, 200, path)


class KeyFileProblems(cltest.DaemonTestCase):
    def test_missing_key_file_refused(self):
        rc, out = cltest.expect_refusal(["serve", "--listen", "127.0.0.1:0", "--data",
                                         cltest.mkdtemp(), "--api-key-file",
                                         "/nonexistent/cloudlog-keys"])
        self.assertNotEqual(rc, 0)
        self.assertIn("cloudlog-keys", out)

    def test_key_file_without_keys_refused(self):
        rc, out = cltest.expect_refusal(["serve", "--listen", "127.0.0.1:0", "--data",
                                         cltest.mkdtemp(), "--api-key-file",
                                         write_keys("# only a comment\n\n")])
        self.assertNotEqual(rc, 0)
        self.assertTrue(out.strip())


class Exposure(cltest.DaemonTestCase):
    def test_non_loopback_without_keys_refused(self):
        for listen in ("0.0.0.0:0", "[::]:0"):
            with self.subTest(listen=listen):
                rc, out = cltest.expect_refusal(["serve", "--listen", listen, "--data",
                                                 cltest.mkdtemp()])
                self.assertNotEqual(rc, 0)
                self.assertIn("--insecure", out)
                self.assertIn("api-key", out)

    def test_non_loopback_refused_via_env(self):
        rc, out = cltest.expect_refusal(["serve"], env={"CLOUDLOG_LISTEN": "0.0.0.0:0",
                                                        "CLOUDLOG_DATA": cltest.mkdtemp()})
        self.assertNotEqual(rc, 0)

    def test_insecure_loopback_still_serves(self):
        d = self.daemon(args=["--insecure"])
        self.assertAccepted(d.post_logs({"message": "insecure"}), 1)
        d.stop()


if __name__ == "__main__":
    cltest.main()
