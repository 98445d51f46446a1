"""End-to-end tests of the CLI's output: a command whose stdout cannot be written (a full
disk: /dev/full, a closed pipe) says so on stderr and exits 1, never 0 with its output
lost."""

import os
import subprocess

import cltest

cltest.ingest_only()


class StdoutFull(cltest.DaemonTestCase):
    def run_to_full(self, args):
        with open("/dev/full", "w") as full:
            p = cltest.spawn(args, stdout=full, stderr=subprocess.PIPE)
            try:
                _, err = p.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate(timeout=10)
                raise
        return p.returncode, err.decode("utf-8", "replace")

    def test_reports_fail_when_stdout_is_full(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full")
        d = self.daemon()
        st, _, js = d.post_logs({"message": "one record", "service": "web"})
        self.assertEqual(st, 202, js)
        cltest.wait_for(lambda: os.path.exists(os.path.join(d.data_dir, "analytics.db")), 30,
                        "DATA/analytics.db", d)
        d.stop()
        for cmd in (["patterns"], ["patterns", "--json"], ["anomalies"], ["anomalies", "--json"],
                    ["status"], ["alarms"]):
            rc, err = self.run_to_full(cmd + ["--data", d.data_dir])
            self.assertEqual(rc, 1, (cmd, err))
            self.assertIn("writing to stdout failed", err, cmd)


if __name__ == "__main__":
    cltest.main()
