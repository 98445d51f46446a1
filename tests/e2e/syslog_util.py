"""syslog_util.py - helpers shared by the syslog end-to-end tests: a daemon with
--syslog-listen, its bound ports, records as dicts, and /metrics values."""

import json
import os
import re
import time
import unittest

import cltest

PORT_RE = re.compile(r"syslog: listening on (tcp|udp)://127\.0\.0\.1:(\d+)")


def syslog_ports(d):
    """{"tcp": [ports], "udp": [ports]} as the daemon logged them."""
    out = {"tcp": [], "udp": []}
    for proto, port in PORT_RE.findall(d.log_text()):
        out[proto].append(int(port))
    return out


def start_daemon(tc, extra=(), listen="tcp://127.0.0.1:0,udp://127.0.0.1:0", env=None):
    """A daemon (no processor: records stay in the durable queue, read back from it)
    with syslog listeners; returns (daemon, tcp port, udp port)."""
    d = tc.daemon(args=["--no-processor", "--syslog-listen", listen] + list(extra), env=env)
    ports = syslog_ports(d)
    return d, (ports["tcp"] or [None])[0], (ports["udp"] or [None])[0]


def records(d):
    return [json.loads(line) for line in d.records()]


def wait_records(tc, d, n, timeout=30, check=None):
    """Polls (bounded) until the queue holds at least n records; returns them. check(),
    if given, is called every round and may raise (e.g. the sender died)."""
    deadline = time.monotonic() + timeout
    got = []
    for _ in range(int(timeout / 0.05) + 10):
        got = records(d)
        if len(got) >= n or time.monotonic() > deadline:
            break
        if check:
            check()
        time.sleep(0.05)
    tc.assertGreaterEqual(len(got), n, "only %d of %d records arrived; log:\n%s"
                          % (len(got), n, d.log_tail()))
    return got


def metric(d, name, labels=""):
    """The value of one Prometheus series (0 when absent)."""
    st, _, body = d.request("GET", "/metrics")
    assert st == 200, st
    want = name + ("{%s}" % labels if labels else "")
    for line in body.decode().splitlines():
        if line.startswith(want + " "):
            return float(line.split()[-1])
    return 0.0


def wait_metric(tc, d, name, labels, value, timeout=30):
    deadline = time.monotonic() + timeout
    v = None
    for _ in range(int(timeout / 0.05) + 10):
        v = metric(d, name, labels)
        if v >= value or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    tc.assertEqual(v, value, "%s{%s}" % (name, labels))


def near_now(tc, ts, slack_s=120):
    ms = cltest.ts_ms(ts)
    tc.assertLess(abs(ms - time.time() * 1000), slack_s * 1000, ts)


def require(tc, path, what):
    """Skips the test when a third-party client is missing, except in CI (CI=true), where
    scripts/setup.sh must have installed it."""
    if path:
        return
    msg = "%s not installed (scripts/setup.sh)" % what
    if os.environ.get("CI") == "true":
        tc.fail(msg)
    raise unittest.SkipTest(msg)
