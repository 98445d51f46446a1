"""End-to-end tests of the `cloudlog` front's query set-up (src/cli/lean_main.c
heap_prepare; SQLite and PCRE2 linked from their archives, CMakeLists.txt): a local query
in the front prints exactly what the full binary (libexec/cloudlog/cloudlog, shared
libraries, malloc's defaults) prints for the same arguments: records, counts, statistics
(but the elapsed time), with one scan thread or two, ordered either way, with a regex."""

import os
import re

import cltest

RECORDS = 240


def full_binary():
    return os.path.join(os.path.dirname(os.path.abspath(cltest.BIN)), "libexec", "cloudlog",
                        "cloudlog")


def run_both(args):
    """(front, full): each (rc, stdout, stderr without the elapsed line)."""
    out = []
    orig = cltest.BIN
    for b in (orig, full_binary()):
        cltest.BIN = b
        try:
            rc, so, se = cltest.run_cli(args)
        finally:
            cltest.BIN = orig
        out.append((rc, so, re.sub(r"(?m)^elapsed .*\n?", "", se)))
    return out


class FrontQuerySetup(cltest.ClassDaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = cltest.Daemon(args=["--flush-age", "300ms"])
        cls.d.start()
        for i in range(RECORDS):
            st, _, js = cls.d.post_logs({"message": "setup %d lock %s" % (
                i, "contention" if i % 4 == 0 else "acquired"),
                "service": "web" if i % 2 else "api",
                "level": "error" if i % 3 == 0 else "info"})
            assert st == 202, js
        cls.base = ["query", "--data", cls.d.data_dir, "--since", "48h"]

        def all_published():
            rc, out, _ = cltest.run_cli(cls.base + ["--count"])
            return rc == 0 and out.strip() == str(RECORDS)
        cltest.wait_for(all_published, 60, "every record published", cls.d)

    def assert_same(self, extra, lines=None):
        (rc, out, err), full = run_both(self.base + extra)
        self.assertEqual((rc, out, err), full, extra)
        self.assertEqual(rc, 0, err)
        if lines is not None:
            self.assertEqual(len(out.splitlines()), lines, extra)

    def test_records_the_same_as_the_full_binary(self):
        self.assert_same(["--limit", "1000"], RECORDS)
        self.assert_same(["--service", "web", "--limit", "7"], 7)
        self.assert_same(["--order", "oldest", "--limit", "50", "--threads", "1"], 50)
        self.assert_same(["--level", "error", "--threads", "2", "--format", "text", "--limit", "1000"], RECORDS // 3)

    def test_counts_and_stats_the_same_as_the_full_binary(self):
        self.assert_same(["--count"], 1)
        self.assert_same(["--count", "--regex", "lock (contention|none)"], 1)
        self.assert_same(["--stats", "--grep", "contention", "--limit", "5"], 5)

    def test_help_and_version_from_the_front(self):
        rc, out, _ = cltest.run_cli(["query", "--help"])
        self.assertEqual(rc, 0)
        self.assertIn("--service", out)
        rc, out, _ = cltest.run_cli(["--version"])
        self.assertEqual(rc, 0)
        self.assertTrue(out.startswith("cloudlog "), out)


if __name__ == "__main__":
    cltest.main()
