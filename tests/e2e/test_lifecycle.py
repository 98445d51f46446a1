"""End-to-end tests of the daemon's life: help and option errors, configuration from
CLOUDLOG_* variables, graceful SIGTERM/SIGINT (also with a slow client mid-request),
restart on the same data directory."""

import json
import os
import signal
import socket
import time

import cltest

# These tests read the queue back; no processor may drain it.
cltest.ingest_only()

SERVE_OPTIONS = ("--listen", "--data", "--api-key-file", "--insecure", "--max-body",
                 "--max-decoded", "--max-record", "--max-errors", "--max-message", "--max-depth",
                 "--durability", "--queue-max-depth", "--queue-max-bytes", "--max-inflight",
                 "--log-level")


class Cli(cltest.DaemonTestCase):
    def test_top_level_help(self):
        for arg in ("--help", "-h"):
            rc, out, err = cltest.run_cli([arg])
            self.assertEqual(rc, 0, err)
            self.assertIn("serve", out + err)

    def test_serve_help_documents_options(self):
        rc, out, err = cltest.run_cli(["serve", "--help"])
        self.assertEqual(rc, 0, err)
        text = out + err
        for opt in SERVE_OPTIONS:
            self.assertIn(opt, text)
        for env in ("CLOUDLOG_LISTEN", "CLOUDLOG_DATA", "CLOUDLOG_MAX_BODY"):
            self.assertIn(env, text)

    def test_unknown_option_exit_2(self):
        for args in (["serve", "--bogus-option"], ["serve", "--bogus-option=1"], ["serve", "-x"],
                     ["no-such-command"]):
            with self.subTest(args=args):
                rc, out, err = cltest.run_cli(args)
                self.assertEqual(rc, 2, (out, err))
                self.assertTrue(err.strip(), "no message on stderr")
                self.assertIn(args[-1].split("=")[0].lstrip("-"), err)

    def test_bad_values_exit_nonzero(self):
        data = cltest.mkdtemp()
        for extra in (["--durability", "sometimes"], ["--max-depth", "abc"],
                      ["--max-errors", "-1"], ["--log-level", "loud"], ["--listen"],
                      ["--queue-max-depth", "x"]):
            with self.subTest(extra=extra):
                rc, out = cltest.expect_refusal(["serve", "--listen", "127.0.0.1:0", "--data",
                                                 data] + extra)
                self.assertEqual(rc, 2, out)
                self.assertTrue(out.strip())

    def test_bad_env_value_exit_nonzero(self):
        rc, out = cltest.expect_refusal(["serve", "--listen", "127.0.0.1:0", "--data",
                                         cltest.mkdtemp()], env={"CLOUDLOG_MAX_BODY": "lots"})
        self.assertNotEqual(rc, 0)
        self.assertIn("CLOUDLOG_MAX_BODY", out)

    def test_port_in_use_refused(self):
        d = self.daemon()
        rc, out = cltest.expect_refusal(["serve", "--listen", "127.0.0.1:%d" % d.port, "--data",
                                         cltest.mkdtemp()])
        self.assertNotEqual(rc, 0)
        self.assertTrue(out.strip())
        d.stop()


class EnvConfig(cltest.DaemonTestCase):
    def test_env_only_configuration(self):
        data = cltest.mkdtemp()
        d = self.daemon(data_dir=data, use_cli_listen=False, use_cli_data=False,
                        env={"CLOUDLOG_LISTEN": "127.0.0.1:0", "CLOUDLOG_DATA": data,
                             "CLOUDLOG_MAX_BODY": "1KiB", "CLOUDLOG_DURABILITY": "process",
                             "CLOUDLOG_LOG_LEVEL": "debug"})
        self.assertAccepted(d.post_logs({"message": "env"}), 1)
        st, _, _ = d.post_logs({"message": "x" * 2048})
        self.assertEqual(st, 413)
        self.assertTrue(os.path.exists(os.path.join(data, "queue.db")))
        self.assertEqual([json.loads(l)["message"] for l in d.records()], ["env"])
        d.stop()

    def test_flag_overrides_env(self):
        d = self.daemon(args=["--max-body", "1MiB"], env={"CLOUDLOG_MAX_BODY": "1KiB"})
        self.assertAccepted(d.post_logs({"message": "x" * 2048}), 1)
        d.stop()

    def test_env_api_key_file(self):
        kd = cltest.mkdtemp()
        kf = os.path.join(kd, "keys")
        with open(kf, "w") as f:
            f.write("envkey\n")
        d = self.daemon(env={"CLOUDLOG_API_KEY_FILE": kf})
        self.assertEqual(d.post_logs({"message": "x"})[0], 401)
        self.assertAccepted(d.post_logs({"message": "x"},
                                        headers={"Authorization": "Bearer envkey"}), 1)
        d.stop()

    def test_env_queue_and_record_limits(self):
        d = self.daemon(env={"CLOUDLOG_QUEUE_MAX_DEPTH": "1", "CLOUDLOG_MAX_RECORD": "100",
                             "CLOUDLOG_MAX_ERRORS": "1"})
        body = '{"message":"%s"}\n{"message":"ok"}\nbad\nbad\n' % ("y" * 200)
        st, _, js = d.post_logs(body, content_type="application/x-ndjson")
        self.assertEqual(st, 202, js)
        self.assertEqual((js["accepted"], js["rejected"], len(js["errors"])), (1, 3, 1))
        self.assertEqual(d.post_logs({"message": "full"})[0], 503)
        d.stop()


class Signals(cltest.DaemonTestCase):
    def test_sigterm_idle_exits_0(self):
        d = self.daemon()
        self.assertAccepted(d.post_logs({"message": "before stop"}), 1)
        d.stop(signal.SIGTERM)
        self.assertEqual(len(d.records()), 1)

    def test_sigint_exits_0(self):
        d = self.daemon()
        d.stop(signal.SIGINT)

    def test_sigterm_with_slow_client_mid_request(self):
        d = self.daemon()
        body = "".join(json.dumps({"message": "slow", "seq": i}) + "\n" for i in range(50))
        body = body.encode()
        head = ("POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n"
                % len(body)).encode()
        s = socket.create_connection((cltest.HOST, d.port), timeout=60)
        try:
            s.sendall(head + body[:len(body) // 2])
            time.sleep(0.3)
            d.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            self.assertTrue(d.alive(), "daemon exited with a request in flight")
            # New connections are no longer served (refused, or answered 503).
            try:
                st, _, _ = d.request("GET", "/readyz", timeout=5)
                self.assertNotEqual(st, 200, "readyz still 200 after SIGTERM")
            except OSError:
                pass
            try:
                for i in range(len(body) // 2, len(body), 100):
                    s.sendall(body[i:i + 100])
                    time.sleep(0.01)
            except (BrokenPipeError, ConnectionResetError):
                pass
            st, _, data = cltest.read_response(s)
        finally:
            s.close()
        rc = d.stop(expect_rc=0)
        self.assertEqual(rc, 0)
        stored = [json.loads(l)["seq"] for l in d.records()]
        if st is None:
            # Connection closed without an answer: nothing may be half stored.
            self.assertIn(stored, ([], list(range(50))))
        else:
            self.assertEqual(st, 202, data)
            self.assertEqual(json.loads(data)["accepted"], 50)
            self.assertEqual(stored, list(range(50)))

    def test_sigterm_with_stalled_client_still_exits_0(self):
        # A client that never finishes its body must not keep the daemon alive past
        # its shutdown timeout.
        d = self.daemon(args=["--shutdown-timeout", "1s"])
        s = socket.create_connection((cltest.HOST, d.port), timeout=60)
        try:
            s.sendall(b"POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
            time.sleep(0.3)
            d.stop(signal.SIGTERM, timeout=30)
        finally:
            s.close()
        self.assertEqual(d.records(), [])

    def test_restart_same_data_dir_keeps_messages(self):
        d = self.daemon()
        self.assertAccepted(d.post_logs([{"message": "a", "seq": 1}, {"message": "b", "seq": 2}]), 2)
        d.stop()
        ids1 = [m["id"] for m in d.messages()]
        d2 = self.daemon(data_dir=d.data_dir)
        self.assertEqual(len(d2.records()), 2)
        self.assertAccepted(d2.post_logs({"message": "c", "seq": 3}), 1)
        d2.stop()
        msgs = d2.messages()
        self.assertEqual([json.loads(l)["seq"] for m in msgs for l in m["lines"]], [1, 2, 3])
        self.assertEqual([m["id"] for m in msgs][:len(ids1)], ids1)
        self.assertGreater(msgs[-1]["id"], max(ids1))
        self.assertEqual(cltest.integrity_check(d2.db_path), ["ok"])

    def test_wal_mode(self):
        d = self.daemon()
        self.assertAccepted(d.post_logs({"message": "wal"}), 1)
        db = cltest.open_db(d.db_path)
        try:
            self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0].lower(), "wal")
            # Schema 4: the delivery state of each message is its row in leases.
            cols = [r[1] for r in db.execute("PRAGMA table_info(messages)")]
            cols += [r[1] for r in db.execute("PRAGMA table_info(leases)")]
            for c in cltest.MESSAGE_COLUMNS + ("msg_id", "holder"):
                self.assertIn(c, cols)
            # dlq: the same columns plus moved_at; visible_at is meaningless for
            # dead letters (they are never received), so it is not required there.
            cols = [r[1] for r in db.execute("PRAGMA table_info(dlq)")]
            for c in cltest.MESSAGE_COLUMNS + ("moved_at",):
                if c != "visible_at":
                    self.assertIn(c, cols)
        finally:
            db.close()
        d.stop()


if __name__ == "__main__":
    cltest.main()
