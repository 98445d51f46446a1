"""End-to-end tests of the configuration file (docs/operations.md "Configuration file"):
--config FILE and CLOUDLOG_CONFIG, YAML keys that are option names, precedence flags > env >
file > defaults, errors naming file, line and key, `cloudlog config check` and `cloudlog
config print`."""

import json
import os
import time

import cltest


def write(text):
    path = os.path.join(cltest.mkdtemp("cl-config-"), "cloudlog.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


class ConfigCheck(cltest.DaemonTestCase):
    def test_good_file_passes(self):
        path = write("# a comment\ndata: /var/lib/cloudlog\nmax-body: 2MiB\n"
                     "service: [api, web]\ninsecure: false\nsince: 2h\n")
        rc, out, err = cltest.run_cli(["config", "check", "--config", path])
        self.assertEqual(rc, 0, err)
        self.assertIn("%s: ok (5 keys)" % path, out)

    def test_unknown_key_names_file_line_and_key(self):
        path = write("data: /tmp/x\n\nbogus-key: 1\n")
        rc, _, err = cltest.run_cli(["config", "check", "--config", path])
        self.assertEqual(rc, 2)
        self.assertIn("%s:3: unknown key 'bogus-key'" % path, err)

    def test_bad_value_names_file_line_and_key(self):
        path = write("data: /tmp/x\nmax-body: huge\n")
        rc, _, err = cltest.run_cli(["config", "check"], env={"CLOUDLOG_CONFIG": path})
        self.assertEqual(rc, 2)
        self.assertIn("key 'max-body' in %s line 2" % path, err)
        self.assertIn("expected a size", err)

    def test_list_for_a_single_option_and_bad_yaml(self):
        path = write("data: [a, b]\n")
        rc, _, err = cltest.run_cli(["config", "check", "--config", path])
        self.assertEqual(rc, 2)
        self.assertIn("%s:1: key 'data' takes one value, not a list" % path, err)
        path = write("data: /x\nservice: [api\n")
        rc, _, err = cltest.run_cli(["config", "check", "--config", path])
        self.assertEqual(rc, 2)
        self.assertIn("%s:" % path, err)
        self.assertIn("not valid YAML", err)

    def test_every_command_refuses_a_bad_file(self):
        path = write("listen: 127.0.0.1:0\nnot-an-option: 1\n")
        rc, out = cltest.expect_refusal(["serve", "--config", path])
        self.assertEqual(rc, 2)
        self.assertIn("unknown key 'not-an-option'", out)
        rc, _, err = cltest.run_cli(["status", "--config", path])
        self.assertEqual(rc, 2)
        self.assertIn("%s:2: unknown key 'not-an-option'" % path, err)

    def test_missing_file(self):
        rc, _, err = cltest.run_cli(["config", "check", "--config", "/nonexistent/c.yaml"])
        self.assertEqual(rc, 2)
        self.assertIn("cannot read config file /nonexistent/c.yaml", err)


class ConfigPrint(cltest.DaemonTestCase):
    def test_values_and_where_they_came_from(self):
        path = write("data: /srv/logs\nmax-body: 2MiB\nmax-errors: 7\n"
                     "syslog-listen: [\"tcp://127.0.0.1:0\"]\n")
        rc, out, err = cltest.run_cli(["config", "print", "--config", path],
                                      env={"CLOUDLOG_MAX_ERRORS": "9"})
        self.assertEqual(rc, 0, err)
        lines = {l.split(":", 1)[0]: l for l in out.splitlines() if not l.startswith("#")}
        self.assertEqual(lines["data"], 'data: "/srv/logs"  # %s:1' % path)
        self.assertEqual(lines["max-body"], 'max-body: "2MiB"  # %s:2' % path)
        self.assertEqual(lines["max-errors"], 'max-errors: "9"  # env CLOUDLOG_MAX_ERRORS')
        self.assertEqual(lines["listen"], 'listen: "127.0.0.1:8080"  # default')
        self.assertEqual(lines["syslog-listen"],
                         'syslog-listen: ["tcp://127.0.0.1:0"]  # %s:4' % path)
        self.assertIn("# api-key-file: unset", out)

    def test_print_is_a_valid_config_file(self):
        path = write("max-body: 3MiB\n")
        rc, out, err = cltest.run_cli(["config", "print", "query", "--config", path])
        self.assertEqual(rc, 0, err)
        self.assertIn('limit: "100"  # default', out)
        again = write(out)
        rc, out2, err = cltest.run_cli(["config", "check", "--config", again])
        self.assertEqual(rc, 0, err)
        rc, _, err = cltest.run_cli(["config", "print", "nosuch"])
        self.assertEqual(rc, 2)
        self.assertIn("no command 'nosuch'", err)


class ConfigServe(cltest.DaemonTestCase):
    def test_daemon_reads_file_and_flags_win(self):
        data = cltest.mkdtemp("cl-config-data-")
        path = write("data: %s\nmax-body: 1KiB\nmax-errors: 3\n" % data)
        d = self.daemon(args=["--config", path], use_cli_data=False)
        self.assertTrue(os.path.exists(os.path.join(data, "queue.db")))
        big = [{"message": "x" * 600, "service": "api"}] * 3
        st, _, _ = d.post_logs(big)
        self.assertEqual(st, 413)  # the file's max-body
        d.stop()
        # a flag beats the file; the data directory still comes from the file
        d = self.daemon(args=["--config", path, "--max-body", "1MiB"], use_cli_data=False)
        st, _, js = d.post_logs(big)
        self.assertEqual(st, 202, js)
        d.stop()

    def test_env_config_applies_to_query(self):
        d = self.daemon(args=["--flush-age", "200ms"])
        now = int(time.time() * 1000)
        recs = [{"message": "m%d" % i, "service": "api", "ts": now - 1000} for i in range(5)]
        st, _, js = d.post_logs(recs)
        self.assertEqual(st, 202, js)
        cltest.wait_drained(d.data_dir, daemon=d)
        # serve-only keys in the same file are not query's concern
        path = write("data: %s\nservice: [api]\nlisten: 127.0.0.1:9\n" % d.data_dir)
        rc, out, err = cltest.run_cli(["query", "--count"], env={"CLOUDLOG_CONFIG": path})
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.strip(), "5")
        rc, out, err = cltest.run_cli(["query", "--count", "--service", "web"],
                                      env={"CLOUDLOG_CONFIG": path})
        self.assertEqual(out.strip(), "0", err)


if __name__ == "__main__":
    cltest.main()
