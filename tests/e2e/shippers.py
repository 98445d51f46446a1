"""Shared by the shipper protocol e2e tests (test_proto_*.py): the real npm clients in
tests/clients (installed by scripts/setup.sh with `npm ci`), and the records a daemon
stored in its objects.

A test class derives from ClientTestCase and names the npm module it needs in MODULE;
without it the tests skip (and fail under CI=true, where setup.sh must have run)."""

import json
import os
import shutil
import subprocess

import cltest

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = os.path.normpath(os.path.join(HERE, "..", "clients"))
NODE = shutil.which("node")
CI = os.environ.get("CI") == "true"
NODE_TIMEOUT = 90
KEY = "shipper-key-1"


def client_missing(module):
    """None when tests/clients can run `module`, else why not."""
    if NODE is None:
        return "no node command on PATH"
    if not os.path.isdir(os.path.join(CLIENTS, "node_modules", module)):
        return "%s/node_modules/%s is missing (run scripts/setup.sh)" % (CLIENTS, module)
    return None


def run_node(script, *args):
    """Runs tests/clients/SCRIPT with args; returns the JSON of its last stdout line."""
    p = subprocess.run([NODE, os.path.join(CLIENTS, script)] + [str(a) for a in args],
                       cwd=CLIENTS, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=NODE_TIMEOUT)
    out = p.stdout.decode("utf-8", "replace").strip().splitlines()
    if p.returncode != 0 or not out:
        raise AssertionError("node %s %s exited %d; stderr:\n%s" % (
            script, " ".join(map(str, args)), p.returncode,
            p.stderr.decode("utf-8", "replace")[-3000:]))
    return json.loads(out[-1])


def stored_records(daemon, timeout=90):
    """Every record in the daemon's published objects (dicts), once its queue drained."""
    cltest.wait_drained(daemon.data_dir, timeout=timeout, dlq=0, daemon=daemon)
    records = []
    for _obj, lines in cltest.stored_lines(daemon.data_dir):
        records.extend(json.loads(line) for line in lines)
    return records


def by_message(records):
    return {r["message"]: r for r in records}


class ClientTestCase(cltest.DaemonTestCase):
    MODULE = None
    # Flush objects quickly; a small record limit lets a client's big record be rejected.
    DAEMON_ARGS = ["--flush-age", "1s", "--max-record", "4KiB"]

    @classmethod
    def setUpClass(cls):
        cls.skip_reason = client_missing(cls.MODULE)
        if cls.skip_reason:
            print(("FAIL (CI=true): " if CI else "SKIP: ") + cls.skip_reason, flush=True)

    def setUp(self):
        super().setUp()
        if self.skip_reason:
            if CI:
                self.fail("CI=true and " + self.skip_reason)
            self.skipTest(self.skip_reason)

    def start_daemon(self, extra=()):
        return self.daemon(args=["--api-key-file", cltest.write_key_file(KEY)] + self.DAEMON_ARGS
                           + list(extra))

    def url(self, d, path):
        return "http://%s:%d%s" % (cltest.HOST, d.port, path)

    def run_client(self, script, d, key=KEY, big=None, path=""):
        """Runs tests/clients/SCRIPT against d: base URL (+ path), key, optional big size."""
        return run_node(script, self.url(d, path), key, *([big] if big else []))
