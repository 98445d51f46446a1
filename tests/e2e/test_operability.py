"""End-to-end tests of what operators rely on: the daemon's own log lines as JSON
(--log-format json / CLOUDLOG_LOG_FORMAT) and --version on every command and subcommand."""

import json

import cltest

COMMANDS = (["serve"], ["status"], ["query"], ["tail"], ["partitions"], ["dlq"], ["dlq", "list"],
            ["dlq", "show"], ["dlq", "redrive"], ["alarms"], ["verify"])


def json_lines(text):
    """Every non-empty line of text parsed as JSON (fails on the first that is not)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class LogFormat(cltest.DaemonTestCase):
    def check_json_log(self, d):
        d.request("GET", "/healthz")
        d.stop()
        lines = json_lines(d.log_text())
        self.assertGreaterEqual(len(lines), 3, d.log_text())
        for obj in lines:
            self.assertEqual(list(obj), ["time", "level", "msg"], obj)
            self.assertRegex(obj["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
            self.assertIn(obj["level"], ("debug", "info", "warn", "error"))
        msgs = [o["msg"] for o in lines]
        self.assertTrue(any(m.startswith("listening on http://127.0.0.1:") for m in msgs), msgs)
        self.assertIn("stopped cleanly", msgs)

    def test_flag(self):
        self.check_json_log(self.daemon(args=["--log-format", "json"]))

    def test_env(self):
        self.check_json_log(self.daemon(env={"CLOUDLOG_LOG_FORMAT": "json"}))

    def test_quotes_and_control_characters_escaped(self):
        # The data directory's name is in the "listening on" line: quotes, a backslash and
        # a tab must come out as valid JSON holding the same text.
        base = cltest.mkdtemp("cl-logfmt-")
        data = base + '/da"ta\\\tdir'
        d = self.daemon(args=["--log-format", "json"], data_dir=data)
        d.stop()
        msgs = [o["msg"] for o in json_lines(d.log_text())]
        self.assertTrue(any(data in m for m in msgs), msgs)

    def test_text_is_default(self):
        d = self.daemon()
        d.stop()
        self.assertRegex(d.log_text().splitlines()[0], r"^\d{4}-\d\d-\d\dT\S+Z (info|warn) ")

    def test_bad_format_refused(self):
        rc, _, err = cltest.run_cli(["serve", "--log-format", "xml"])
        self.assertEqual(rc, 2)
        self.assertIn("--log-format", err)


class Version(cltest.DaemonTestCase):
    def test_every_command_prints_version(self):
        rc, top, err = cltest.run_cli(["--version"])
        self.assertEqual(rc, 0, err)
        self.assertRegex(top, r"^cloudlog \d+\.\d+\.\d+\n$")
        for cmd in COMMANDS:
            rc, out, err = cltest.run_cli(cmd + ["--version"])
            self.assertEqual((rc, out), (0, top), "%s: %s" % (" ".join(cmd), err))

    def test_version_wins_over_other_options(self):
        rc, out, err = cltest.run_cli(["query", "--since", "15m", "--version"])
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("cloudlog "), out)

    def test_help_lists_version(self):
        rc, out, _ = cltest.run_cli(["serve", "--help"])
        self.assertEqual(rc, 0)
        self.assertIn("--version", out)


if __name__ == "__main__":
    cltest.main()
