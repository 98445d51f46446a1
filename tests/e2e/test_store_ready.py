"""End-to-end tests of /readyz reporting the store: a local store on a small file system
that fills up (a tmpfs mounted by the test, as root) makes the daemon not ready with the
reason, and ready again once there is room; an S3 store whose endpoint stops answering
(moto stopped) makes it not ready with the reason."""

import json
import os
import subprocess
import unittest

import cltest
import s3_moto


def readyz(d):
    st, _, data = d.request("GET", "/readyz")
    return st, cltest.parse_json(data)


class FullDisk(cltest.DaemonTestCase):
    def setUp(self):
        super().setUp()
        why = None
        if os.geteuid() != 0:
            why = "mounting a small tmpfs needs root"
        self.mnt = cltest.mkdtemp("cl-fullfs-")
        if not why:
            p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", self.mnt],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)
            if p.returncode != 0:
                why = "cannot mount a tmpfs here: %s" % p.stdout.decode(errors="replace")
        if why:
            if os.environ.get("CI") == "true":
                self.fail(why)
            raise unittest.SkipTest(why)
        self.addCleanup(subprocess.run, ["umount", "-l", self.mnt], timeout=30)

    def fill(self, path):
        """Writes path until the file system is full (bounded by the 4 MiB mount)."""
        with open(path, "wb") as f:
            for _ in range(4 * 1024 + 16):
                try:
                    f.write(b"\0" * 1024)
                    f.flush()
                except OSError:
                    break

    def test_full_store_disk_is_not_ready(self):
        store = os.path.join(self.mnt, "logs")
        d = self.daemon(args=["--store", "file:" + store])
        self.assertEqual(readyz(d), (200, {"status": "ready"}))
        filler = os.path.join(self.mnt, "filler")
        try:
            self.fill(filler)
        except OSError:
            pass
        st, js = readyz(d)
        self.assertEqual(st, 503, js)
        self.assertIn("store directory %s is full" % store, js["error"])
        self.assertRegex(js["error"], r"\d+ bytes free \(need 1048576\)")
        # Ingest itself still answers (the queue is elsewhere): readiness is for routing.
        os.unlink(filler)
        cltest.wait_for(lambda: readyz(d)[0] == 200, 30, "ready again", daemon=d)
        d.stop()


class UnreachableBucket(cltest.DaemonTestCase):
    def test_stopped_moto_is_not_ready(self):
        why = s3_moto.missing()
        if why:
            s3_moto.skip_or_fail(self, why)
        moto = s3_moto.S3Moto("cl-ready")
        try:
            url = moto.store_url("logs", timeout="2s", max_attempts="1")
            d = self.daemon(args=["--store", url], env=dict(os.environ, **moto.env))
            self.assertEqual(readyz(d), (200, {"status": "ready"}))
        finally:
            moto.stop()
        js = cltest.wait_for(lambda: readyz(d)[0] == 503 and readyz(d)[1], 60,
                             "not ready after moto stopped", daemon=d)
        self.assertIn("store is unreachable", js["error"])
        self.assertIn("see the log", js["error"])
        self.assertEqual(json.loads(d.request("GET", "/healthz")[2]), {"status": "ok"})
        d.stop()


if __name__ == "__main__":
    cltest.main()
