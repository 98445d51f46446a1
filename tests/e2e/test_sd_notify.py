"""End-to-end test of the systemd notify protocol (Type=notify units, src/server/notify.c):
the test plays the service manager. It binds a unix datagram socket, starts the daemon with
NOTIFY_SOCKET (and WATCHDOG_USEC, as systemd sets them for WatchdogSec=) and
reads what the daemon sends: READY=1 once it listens, WATCHDOG=1 pings, STOPPING=1 after
SIGTERM (the daemon's log says "listening on" before READY=1 is sent). Without NOTIFY_SOCKET the daemon runs as before."""

import os
import signal
import socket

import cltest

RECV_TIMEOUT = 30


class Notify(cltest.DaemonTestCase):
    def setUp(self):
        super().setUp()
        self.dir = cltest.mkdtemp("cl-notify-")
        self.path = os.path.join(self.dir, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(RECV_TIMEOUT)

    def tearDown(self):
        self.sock.close()
        super().tearDown()

    def messages_until(self, wanted, limit=200):
        """Reads datagrams (bounded in count, each in time) until one holds `wanted`;
        returns every message read, as lists of KEY=VALUE lines."""
        seen = []
        for _ in range(limit):
            data = self.sock.recv(4096)
            seen.append(data.decode().split("\n"))
            if wanted in seen[-1]:
                return seen
        raise AssertionError("no %s in %d notify messages: %r" % (wanted, limit, seen))

    def start_daemon(self, env):
        d = self.daemon(env=env, start=False)
        d.start(wait_ready=False)
        return d

    def test_ready_then_stopping(self):
        d = self.start_daemon({"NOTIFY_SOCKET": self.path})
        ready = self.messages_until("READY=1")[-1]
        self.assertTrue(any(line.startswith("STATUS=") for line in ready), ready)
        # READY=1 comes only once the listener answers.
        d.wait_ready()
        st, _, _ = d.request("GET", "/healthz")
        self.assertEqual(st, 200)
        d.send_signal(signal.SIGTERM)
        self.messages_until("STOPPING=1")
        self.assertEqual(d.stop(), 0)

    def test_watchdog_pings(self):
        # WatchdogSec=2s as systemd passes it (WATCHDOG_PID unset: any pid may ping).
        d = self.start_daemon({"NOTIFY_SOCKET": self.path, "WATCHDOG_USEC": "2000000"})
        self.messages_until("READY=1")
        self.messages_until("WATCHDOG=1")
        self.messages_until("WATCHDOG=1")  # repeated, not only once at start
        d.wait_ready()
        d.send_signal(signal.SIGTERM)
        self.messages_until("STOPPING=1")
        self.assertEqual(d.stop(), 0)

    def test_no_watchdog_without_usec(self):
        d = self.start_daemon({"NOTIFY_SOCKET": self.path})
        self.messages_until("READY=1")
        d.wait_ready()
        d.send_signal(signal.SIGTERM)
        msgs = self.messages_until("STOPPING=1")
        self.assertFalse(any("WATCHDOG=1" in m for m in msgs), msgs)
        self.assertEqual(d.stop(), 0)

    def test_no_socket_no_messages(self):
        d = self.daemon()
        st, _, _ = d.request("GET", "/healthz")
        self.assertEqual(st, 200)
        d.stop()
        self.sock.settimeout(0.2)
        with self.assertRaises(socket.timeout):
            self.sock.recv(4096)


if __name__ == "__main__":
    cltest.main()
