"""cltest.py - shared helpers for cloudlog end-to-end tests (Python 3 stdlib only).

Every test file does `import cltest` and ends with `cltest.main()`.

Environment (set by CTest):
  CLOUDLOG_BIN     path of the built `cloudlog` binary
  CL_TMPDIR        scratch directory (data dirs, daemon logs, cached fixtures)
  CL_TESTDATA_DIR  third-party test data (unused by most e2e tests)

Rules these helpers enforce: the daemon only ever listens on 127.0.0.1; every wait
is bounded in time and in iterations; every daemon started here is killed at the
latest when the test process exits (atexit + PR_SET_PDEATHSIG), so no test leaves
a process behind.
"""

import atexit
import ctypes
import datetime
import gzip
import http.client
import json
import random
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BIN = os.environ.get("CLOUDLOG_BIN") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "cloudlog")
TMP_ROOT = os.environ.get("CL_TMPDIR") or tempfile.gettempdir()
TESTDATA = os.environ.get("CL_TESTDATA_DIR", "")

HOST = "127.0.0.1"
START_TIMEOUT = float(os.environ.get("CL_E2E_START_TIMEOUT", "30"))  # ASan builds start slowly
STOP_TIMEOUT = float(os.environ.get("CL_E2E_STOP_TIMEOUT", "30"))
HTTP_TIMEOUT = float(os.environ.get("CL_E2E_HTTP_TIMEOUT", "60"))
LISTEN_RE = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")

KiB = 1024
MiB = 1024 * 1024

_live_procs = []   # every Popen we started; killed at exit
_temp_dirs = []    # removed at exit when every test passed


def _kill_all():
    for p in _live_procs:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(timeout=10)
            except Exception:
                pass


atexit.register(_kill_all)


def _sigterm_handler(signum, frame):
    _kill_all()
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _sigterm_handler)

_PR_SET_PDEATHSIG = 1
try:
    _libc = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover
    _libc = None


def _child_setup():
    # Dies with the test runner even if the runner is SIGKILLed (CTest timeout).
    if _libc is not None:
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


_logs = []


def _log_dir():
    if not _logs:
        _logs.append(mkdtemp("cl-logs-"))
    return _logs[0]


def mkdtemp(prefix="cl-e2e-"):
    os.makedirs(TMP_ROOT, exist_ok=True)
    d = tempfile.mkdtemp(prefix=prefix, dir=TMP_ROOT)
    _temp_dirs.append(d)
    return d


# Environment every daemon and CLI run of this test file gets (before per-call env).
# Test files that inspect the queue itself set CLOUDLOG_NO_PROCESSOR here, so the
# processor does not drain the messages they read back.
# The accepted timestamp window (default 7 days back, 10 minutes ahead) is off: the
# fixtures use fixed dates so their expected output never changes. Tests of the window
# set it per daemon (env wins over these).
DEFAULT_ENV = {"CLOUDLOG_MAX_RECORD_AGE": "0", "CLOUDLOG_MAX_RECORD_FUTURE": "0"}


def write_key_file(*keys):
    """A fresh API key file holding keys (or lines of a key file), one per line; returns
    its path."""
    return write_file(os.path.join(mkdtemp("cl-keys-"), "keys"), "".join(k + "\n" for k in keys))


def ingest_only():
    """Runs this file's daemons without processor threads (messages stay queued)."""
    DEFAULT_ENV["CLOUDLOG_NO_PROCESSOR"] = "1"


def spawn(args, env=None, stdout=None, stderr=None, stdin=subprocess.DEVNULL):
    """Starts BIN with args; the process is registered for cleanup."""
    full_env = dict(os.environ)
    # Tests must not be configured by a developer's CLOUDLOG_* variables by accident.
    for k in list(full_env):
        if k.startswith("CLOUDLOG_") and k != "CLOUDLOG_BIN":
            del full_env[k]
    full_env.update(DEFAULT_ENV)
    if env:
        full_env.update(env)
    p = subprocess.Popen([BIN] + list(args), env=full_env, stdout=stdout, stderr=stderr,
                         stdin=stdin, preexec_fn=_child_setup)
    _live_procs.append(p)
    return p


def run_cli(args, env=None, timeout=30):
    """Runs BIN to completion; returns (rc, stdout, stderr) as text. Never leaves it running."""
    p = spawn(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate(timeout=10)
        raise AssertionError("cloudlog %s did not exit within %ss; stderr: %s"
                             % (" ".join(args), timeout, err.decode("utf-8", "replace")[-2000:]))
    return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def wait_for(pred, timeout, what, daemon=None, step=0.2):
    """Polls pred() (bounded in time and count) until it is truthy; returns its value or
    raises AssertionError naming `what`, the last value and the daemon's log tail."""
    deadline = time.monotonic() + timeout
    last = None
    for _ in range(int(timeout / step) + 10):
        last = pred()
        if last:
            return last
        if time.monotonic() > deadline:
            break
        time.sleep(step)
    raise AssertionError("timed out after %ss waiting for %s (last: %r)%s"
                         % (timeout, what, last,
                            "; log:\n" + daemon.log_tail() if daemon is not None else ""))


class Daemon:
    """One `cloudlog serve` process on an ephemeral loopback port."""

    def __init__(self, data_dir=None, args=(), env=None, use_cli_listen=True, use_cli_data=True):
        self.data_dir = data_dir or mkdtemp("cl-data-")
        self.args = list(args)
        self.env = env
        self.use_cli_listen = use_cli_listen
        self.use_cli_data = use_cli_data
        self.proc = None
        self.port = None
        self.log_path = None
        self._log = None

    # -- lifecycle -------------------------------------------------------------
    def start(self, wait_ready=True):
        argv = ["serve"]
        if self.use_cli_listen:
            argv += ["--listen", "%s:0" % HOST]
        if self.use_cli_data:
            argv += ["--data", self.data_dir]
        argv += self.args
        fd, self.log_path = tempfile.mkstemp(prefix="daemon-", suffix=".log", dir=_log_dir())
        self._log = os.fdopen(fd, "wb")
        self.proc = spawn(argv, env=self.env, stdout=self._log, stderr=self._log)
        if wait_ready:
            self.wait_ready()
        return self

    def log_text(self):
        if not self.log_path:
            return ""
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=4000):
        return self.log_text()[-n:]

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.02) + 10):
            if time.monotonic() > deadline:
                break
            m = LISTEN_RE.search(self.log_text())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                raise AssertionError("daemon exited with %s before listening; log:\n%s"
                                     % (self.proc.returncode, self.log_tail()))
            time.sleep(0.02)
        if self.port is None:
            self.kill()
            raise AssertionError("daemon did not log 'listening on' within %ss; log:\n%s"
                                 % (timeout, self.log_tail()))
        # The port is printed; make sure HTTP answers too.
        last = None
        for _ in range(int(timeout / 0.05) + 10):
            if time.monotonic() > deadline:
                break
            try:
                st, _, _ = self.request("GET", "/healthz", timeout=5)
                if st == 200:
                    return self
                last = "status %d" % st
            except OSError as e:
                last = repr(e)
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.kill()
        raise AssertionError("daemon not healthy within %ss (%s); log:\n%s"
                             % (timeout, last, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def wait_exit(self, timeout=STOP_TIMEOUT):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("daemon did not exit within %ss; log:\n%s"
                                 % (timeout, self.log_tail()))

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT, expect_rc=0):
        """Graceful stop; asserts the exit status (0 by default)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.wait_exit(timeout)
        self._close_log()
        if expect_rc is not None and rc != expect_rc:
            raise AssertionError("daemon exited %s after %s, expected %s; log:\n%s"
                                 % (rc, signal.Signals(sig).name, expect_rc, self.log_tail()))
        return rc

    def kill(self):
        """kill -9, no questions asked."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.kill()
                self.proc.wait(timeout=10)
            except Exception:
                pass
        self._close_log()

    def _close_log(self):
        if self._log is not None:
            try:
                self._log.close()
            except Exception:
                pass
            self._log = None

    def __enter__(self):
        if self.proc is None:
            self.start()
        return self

    def __exit__(self, et, ev, tb):
        if et is None:
            self.stop()
        else:
            self.kill()
        return False

    # -- HTTP ------------------------------------------------------------------
    def conn(self, timeout=HTTP_TIMEOUT):
        return http.client.HTTPConnection(HOST, self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=HTTP_TIMEOUT):
        """Returns (status, headers dict with lower-case names, body bytes)."""
        c = self.conn(timeout)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def post_logs(self, body, content_type="application/json", encoding=None, headers=None,
                  path="/v1/logs", timeout=HTTP_TIMEOUT):
        """POSTs a body (str/bytes/list of records). Returns (status, headers, parsed JSON or raw)."""
        if isinstance(body, (list, dict)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        h = {}
        if content_type is not None:
            h["Content-Type"] = content_type
        if encoding == "gzip":
            body = gzip.compress(body)
            h["Content-Encoding"] = "gzip"
        elif encoding is not None:
            h["Content-Encoding"] = encoding
        if headers:
            h.update(headers)
        st, hd, data = self.request("POST", path, body=body, headers=h, timeout=timeout)
        return st, hd, parse_json(data)

    def raw(self, data, timeout=HTTP_TIMEOUT, chunks=None, pause=0.0):
        """Sends raw bytes on a fresh connection and parses one HTTP response.

        Tolerates the server closing early (e.g. 413 before the body is read).
        Returns (status, headers, body bytes) or (None, {}, b"") if the connection
        closed without a response."""
        s = socket.create_connection((HOST, self.port), timeout=timeout)
        try:
            parts = chunks if chunks is not None else [data]
            try:
                for part in parts:
                    s.sendall(part)
                    if pause:
                        time.sleep(pause)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return read_response(s)
        finally:
            s.close()

    # -- queue -----------------------------------------------------------------
    @property
    def db_path(self):
        return os.path.join(self.data_dir, "queue.db")

    def messages(self, **kw):
        return read_messages(self.db_path, **kw)

    def records(self, **kw):
        return all_records(self.db_path, **kw)

    def vm_hwm_kib(self):
        return proc_status_kib(self.proc.pid, "VmHWM")

    def vm_rss_kib(self):
        return proc_status_kib(self.proc.pid, "VmRSS")


def expect_refusal(args, env=None, timeout=START_TIMEOUT):
    """Starts BIN with args expecting it to exit without serving. If it logs
    'listening on' it is killed at once and an AssertionError is raised.
    Returns (exit code, combined output)."""
    fd, path = tempfile.mkstemp(prefix="refuse-", suffix=".log", dir=_log_dir())
    with os.fdopen(fd, "wb") as log:
        p = spawn(args, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / 0.02) + 10):
            if p.poll() is not None or time.monotonic() > deadline:
                break
            with open(path, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            if "listening on" in text:
                p.kill()
                p.wait(timeout=10)
                raise AssertionError("cloudlog %s started serving: %s" % (" ".join(args), text))
            time.sleep(0.02)
        if p.poll() is None:
            p.kill()
            p.wait(timeout=10)
            raise AssertionError("cloudlog %s neither served nor exited in %ss"
                                 % (" ".join(args), timeout))
        with open(path, "rb") as f:
            return p.returncode, f.read().decode("utf-8", "replace")
    finally:
        if p.poll() is None:
            p.kill()


def read_response(sock):
    """Parses one HTTP response from a connected socket (status, headers, body)."""
    r = http.client.HTTPResponse(sock)
    try:
        r.begin()
    except (http.client.RemoteDisconnected, ConnectionResetError, http.client.BadStatusLine):
        return None, {}, b""
    try:
        data = r.read()
    except (ConnectionResetError, http.client.IncompleteRead) as e:
        data = getattr(e, "partial", b"")
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def parse_json(data):
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return data


def proc_status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("%s not in /proc/%d/status" % (field, pid))


# -- queue.db ---------------------------------------------------------------------

def open_db(path, copy=False):
    """Opens queue.db read-only. With copy=True the db and its WAL are copied first
    (for a crashed daemon's files: recovery then runs on the copy, never the original)."""
    if not os.path.exists(path):
        raise AssertionError("queue database %s does not exist" % path)
    if copy:
        d = mkdtemp("cl-dbcopy-")
        dst = os.path.join(d, "queue.db")
        shutil.copyfile(path, dst)
        if os.path.exists(path + "-wal"):
            shutil.copyfile(path + "-wal", dst + "-wal")
        return sqlite3.connect(dst, timeout=10)
    return sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)


MESSAGE_COLUMNS = ("id", "body", "record_count", "raw_bytes", "min_ts", "max_ts", "encoding",
                   "sent_at", "visible_at", "receive_count", "first_receive_at", "last_error")
# Queue schema 4: a message's delivery state is its row in leases (msg_id = messages.id).
LEASE_COLUMNS = ("visible_at", "receive_count", "first_receive_at", "last_error", "holder")
MESSAGES_FROM = "messages m LEFT JOIN leases l ON l.msg_id = m.id"


def message_select(columns):
    """The select list of columns over MESSAGES_FROM (lease columns from l)."""
    return ", ".join(("l." if c in LEASE_COLUMNS else "m.") + c for c in columns)


def insert_message(db, body, record_count, raw_bytes, min_ts, max_ts, encoding, sent_at,
                   visible_at, receive_count=0, msg_id=None):
    """Plants one message (its messages row and its lease) in an open transaction of db;
    returns its id."""
    cur = db.execute("INSERT INTO messages (id, body, record_count, raw_bytes, min_ts, max_ts,"
                     " encoding, sent_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     (msg_id, body, record_count, raw_bytes, min_ts, max_ts, encoding, sent_at))
    db.execute("INSERT INTO leases (msg_id, visible_at, receive_count) VALUES (?, ?, ?)",
               (cur.lastrowid, visible_at, receive_count))
    return cur.lastrowid


def read_messages(path, table="messages", copy=False):
    """Returns the rows of `table` as dicts, oldest id first, with 'lines' decoded."""
    db = open_db(path, copy=copy)
    try:
        if table == "messages":
            cur = db.execute("SELECT %s FROM %s ORDER BY m.id"
                             % (message_select(MESSAGE_COLUMNS), MESSAGES_FROM))
        else:
            cur = db.execute("SELECT %s FROM %s ORDER BY id"
                             % (", ".join(MESSAGE_COLUMNS), table))
        rows = []
        for row in cur.fetchall():
            m = dict(zip(MESSAGE_COLUMNS, row))
            m["lines"] = decode_body(m["body"], m["encoding"])
            rows.append(m)
        return rows
    finally:
        db.close()


def decode_body(body, encoding="gzip"):
    raw = bytes(body)
    if encoding == "gzip":
        raw = gzip.decompress(raw)
    text = raw.decode("utf-8")
    if text and not text.endswith("\n"):
        raise AssertionError("message body does not end with a newline: %r" % text[-80:])
    return text.split("\n")[:-1] if text else []


def all_records(path, copy=False):
    """Every normalized line in the main queue, in message order."""
    out = []
    for m in read_messages(path, copy=copy):
        out.extend(m["lines"])
    return out


def integrity_check(path, copy=True):
    db = open_db(path, copy=copy)
    try:
        return [r[0] for r in db.execute("PRAGMA integrity_check").fetchall()]
    finally:
        db.close()


def count_rows(path, table="messages"):
    db = open_db(path)
    try:
        return db.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
    finally:
        db.close()


def ts_ms(text):
    """'YYYY-MM-DDTHH:MM:SS.mmmZ' -> ms since the epoch."""
    dt = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    return int(round(dt.timestamp() * 1000))


def ms_text(ms):
    dt = datetime.datetime.fromtimestamp(ms // 1000, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + ".%03dZ" % (ms % 1000)


def jstr(s):
    """JSON text of a string as a compact serializer writes it (raw UTF-8)."""
    return json.dumps(s, ensure_ascii=False)


def norm_line(ts, level, service, message, others=""):
    """Expected normalized line. `others` is the compact JSON text of the remaining
    members without braces, e.g. '"a":1,"b":[2]'."""
    s = '{"timestamp":"%s","level":"%s","service":%s,"message":%s' % (
        ts, level, jstr(service), jstr(message))
    if others:
        s += "," + others
    return s + "}"


def pairs(line):
    """Parses a JSON line keeping member order (list of (key, value))."""
    return json.loads(line, object_pairs_hook=list)


def check_message_attrs(tc, m):
    """Asserts a queue row's attributes agree with its body."""
    tc.assertEqual(m["encoding"], "gzip")
    tc.assertEqual(m["record_count"], len(m["lines"]), "record_count of message %s" % m["id"])
    raw = sum(len(l.encode("utf-8")) + 1 for l in m["lines"])
    tc.assertEqual(m["raw_bytes"], raw, "raw_bytes of message %s" % m["id"])
    if m["lines"]:
        tss = [ts_ms(json.loads(l)["timestamp"]) for l in m["lines"]]
        tc.assertEqual(m["min_ts"], min(tss), "min_ts of message %s" % m["id"])
        tc.assertEqual(m["max_ts"], max(tss), "max_ts of message %s" % m["id"])
    tc.assertEqual(m["receive_count"], 0)


# -- test runner --------------------------------------------------------------------

class DaemonTestCase(unittest.TestCase):
    """Starts no daemon itself; tracks daemons made with self.daemon() and kills any
    left running after each test."""

    def setUp(self):
        self._daemons = []

    def tearDown(self):
        for d in self._daemons:
            if d.alive():
                d.kill()

    def daemon(self, args=(), data_dir=None, env=None, start=True, **kw):
        d = Daemon(data_dir=data_dir, args=args, env=env, **kw)
        self._daemons.append(d)
        if start:
            d.start()
        return d

    def assertAccepted(self, resp, accepted, rejected=0):
        st, _, js = resp
        self.assertEqual(st, 202, "expected 202, got %s %r" % (st, js))
        self.assertIsInstance(js, dict, js)
        self.assertEqual(js.get("accepted"), accepted, js)
        self.assertEqual(js.get("rejected"), rejected, js)
        self.assertIsInstance(js.get("errors"), list, js)
        return js


class ClassDaemonTestCase(DaemonTestCase):
    """A DaemonTestCase whose setUpClass starts one daemon, cls.d, shared by its tests;
    stopped after them (killed if it does not stop)."""

    @classmethod
    def tearDownClass(cls):
        try:
            cls.d.stop()
        finally:
            cls.d.kill()

    def max_id(self):
        """The id of the newest message in cls.d's queue (0: empty)."""
        m = self.d.messages()
        return m[-1]["id"] if m else 0

    def assertNothingStored(self, before):
        self.assertEqual(self.max_id(), before, "a rejected request stored messages")


def write_file(path, text):
    """Replaces path atomically (a daemon reloading it never reads a half-written file)."""
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    return path


def bearer(key):
    """The headers that present key as a bearer token."""
    return {"Authorization": "Bearer " + key}


def main():
    argv = [sys.argv[0]] + sys.argv[1:]
    print("cloudlog binary: %s" % BIN, flush=True)
    if not os.access(BIN, os.X_OK):
        print("CLOUDLOG_BIN %s is not an executable file" % BIN)
        print("0 passed, 1 failed")
        sys.exit(1)
    prog = unittest.main(module="__main__", argv=argv, exit=False,
                         testRunner=unittest.TextTestRunner(verbosity=2, stream=sys.stdout))
    res = prog.result
    failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    passed = res.testsRun - failed - skipped
    _kill_all()
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    print(line, flush=True)
    ok = failed == 0 and res.testsRun > 0
    if ok:
        for d in _temp_dirs:
            shutil.rmtree(d, ignore_errors=True)
    sys.exit(0 if ok else 1)


# -- processor / object store (used by test_process_*.py) ------------------------------

OBJECT_KEY_RE = re.compile(
    r"^service=([A-Za-z0-9._-]{1,64})/dt=(\d{4}-\d{2}-\d{2})/hour=(\d{2})/"
    r"(\d{8}T\d{6}Z-[0-9a-f]{16})\.ndjson\.gz$")


def store_dir(data_dir):
    return os.path.join(data_dir, "logs")


def store_scan(data_dir):
    """Walks DATA/logs. Returns (objects, staging, strays): objects is a list of dicts
    {key, path, service, dt, hour, id, size} for published object files; staging lists
    files under _staging/ and any *.tmp file; strays lists other files (bad names)."""
    root = store_dir(data_dir)
    objects, staging, strays = [], [], []
    if not os.path.isdir(root):
        return objects, staging, strays
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            key = os.path.relpath(path, root).replace(os.sep, "/")
            if key.startswith("_staging/") or ".tmp" in name:
                staging.append(key)
                continue
            m = OBJECT_KEY_RE.match(key)
            if not m:
                strays.append(key)
                continue
            try:
                size = os.path.getsize(path)
            except OSError:
                continue  # moved away meanwhile
            objects.append({"key": key, "path": path, "service": m.group(1), "dt": m.group(2),
                            "hour": m.group(3), "id": m.group(4), "size": size})
    objects.sort(key=lambda o: o["key"])
    return objects, staging, strays


def gzip_dc(path, timeout=60):
    """The file's content as the system's `gzip -dc` decompresses it (bytes)."""
    p = subprocess.run(["gzip", "-dc", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("gzip -dc %s failed (%d): %s"
                             % (path, p.returncode, p.stderr.decode("utf-8", "replace")))
    return p.stdout


def object_lines(path):
    """Lines of a stored object (gzip -dc), without the newlines; checks the final newline."""
    raw = gzip_dc(path)
    text = raw.decode("utf-8")
    if text and not text.endswith("\n"):
        raise AssertionError("object %s does not end with a newline" % path)
    return text.split("\n")[:-1] if text else []


def table_rows(db_path, table):
    """Every row of table as dicts (column names from the table), [] if the table is missing."""
    db = open_db(db_path)
    try:
        if not db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?",
                          (table,)).fetchone():
            return []
        if table == "messages":  # with each message's lease (schema 4)
            cur = db.execute("SELECT m.*, %s FROM %s"
                             % (", ".join("l." + c for c in LEASE_COLUMNS), MESSAGES_FROM))
        else:
            cur = db.execute("SELECT * FROM %s" % table)
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]
    finally:
        db.close()


def catalog_rows(db_path):
    return table_rows(db_path, "objects")


def queue_counts(db_path):
    """(messages, dlq, unpublished catalog rows); a missing table counts 0."""
    db = open_db(db_path)
    try:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        out = []
        for t, where in (("messages", ""), ("dlq", ""), ("objects", " WHERE published = 0")):
            out.append(db.execute("SELECT count(*) FROM %s%s" % (t, where)).fetchone()[0]
                       if t in names else 0)
        return tuple(out)
    finally:
        db.close()


def wait_drained(data_dir, timeout=90, dlq=None, daemon=None, staging=True):
    """Polls (bounded) until the main queue is empty, no catalog row is unpublished and
    (unless staging=False) no staging file exists (and, if dlq is given, the DLQ holds
    exactly dlq rows). Raises AssertionError with the last state on timeout."""
    db_path = os.path.join(data_dir, "queue.db")
    deadline = time.monotonic() + timeout
    state = None
    for _ in range(int(timeout / 0.1) + 10):
        try:
            counts = queue_counts(db_path)
            _, left, _ = store_scan(data_dir)
            state = (counts, left[:5])
            if (counts[0] == 0 and counts[2] == 0 and not (staging and left)
                    and (dlq is None or counts[1] == dlq)):
                return
        except sqlite3.OperationalError as e:  # busy / locked: try again
            state = repr(e)
        if daemon is not None and not daemon.alive():
            raise AssertionError("daemon died while draining; log:\n%s" % daemon.log_tail())
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    raise AssertionError("not drained within %ss: (messages, dlq, unpublished), staging = %r%s"
                         % (timeout, state,
                            "; log:\n" + daemon.log_tail() if daemon is not None else ""))


def stored_lines(data_dir):
    """[(object dict, [lines])] for every published object."""
    objs, _, _ = store_scan(data_dir)
    return [(o, object_lines(o["path"])) for o in objs]


def partition_of_line(line):
    """(service, 'YYYY-MM-DD', 'HH') a normalized line belongs in."""
    r = json.loads(line)
    ts = r["timestamp"]
    return r["service"], ts[0:10], ts[11:13]


def cli_has_command(*words):
    """1 if `cloudlog WORDS --help` exits 0 (the command exists)."""
    try:
        rc, _, _ = run_cli(list(words) + ["--help"], timeout=30)
    except AssertionError:
        return False
    return rc == 0


def dlq_redrive(data_dir):
    """Moves every DLQ message back into the main queue: `cloudlog dlq redrive --all` when
    the CLI has it, else by SQL (receive_count 0, visible now, no error). Returns 'cli' or 'sql'."""
    if cli_has_command("dlq", "redrive"):
        rc, out, err = run_cli(["dlq", "redrive", "--all", "--data", data_dir], timeout=60)
        if rc != 0:
            raise AssertionError("cloudlog dlq redrive failed (%d): %s %s" % (rc, out, err))
        return "cli"
    now = int(time.time() * 1000)
    db = sqlite3.connect(os.path.join(data_dir, "queue.db"), timeout=30)
    try:
        db.execute("BEGIN IMMEDIATE")
        for row in db.execute("SELECT id, body, record_count, raw_bytes, min_ts, max_ts,"
                              " encoding FROM dlq").fetchall():
            insert_message(db, *row[1:], sent_at=now, visible_at=now, msg_id=row[0])
        db.execute("DELETE FROM dlq")
        db.commit()
    finally:
        db.close()
    return "sql"


LEVELS = ("trace", "debug", "info", "warn", "error", "fatal")


def check_store(tc, data_dir):
    """Asserts the store of a drained daemon is consistent and returns every stored line
    as (line, object dict). Checks: no staging/.tmp files or stray names; every line
    is in the partition its path names; objects rows and files match one to one
    (records, bytes, raw_bytes, min/max ts, level counts, published = 1)."""
    objs, staging, strays = store_scan(data_dir)
    tc.assertEqual(strays, [], "files in the store that are not objects")
    rows = catalog_rows(os.path.join(data_dir, "queue.db"))
    by_key = {}
    for r in rows:
        tc.assertNotIn(r["key"], by_key, "two catalog rows for %s" % r["key"])
        by_key[r["key"]] = r
    tc.assertEqual(sorted(by_key), [o["key"] for o in objs], "catalog keys vs object files")
    out = []
    for o in objs:
        lines = object_lines(o["path"])
        raw = gzip_dc(o["path"])
        tc.assertGreater(len(lines), 0, "empty object %s" % o["key"])
        tss, levels = [], dict((l, 0) for l in LEVELS)
        for line in lines:
            rec = json.loads(line)
            part = partition_of_line(line)
            tc.assertEqual(part, (o["service"], o["dt"], o["hour"]),
                           "record in the wrong partition %s: %s" % (o["key"], line[:200]))
            tss.append(ts_ms(rec["timestamp"]))
            levels[rec["level"]] += 1
            out.append((line, o))
        r = by_key[o["key"]]
        where = "catalog row of %s" % o["key"]
        tc.assertEqual(r.get("published"), 1, where)
        tc.assertEqual(r.get("service"), o["service"], where)
        tc.assertEqual(r.get("dt"), o["dt"], where)
        tc.assertEqual(int(r.get("hour")), int(o["hour"]), where)
        tc.assertEqual(r.get("records"), len(lines), where + ": records")
        tc.assertEqual(r.get("bytes"), o["size"], where + ": bytes")
        tc.assertEqual(r.get("raw_bytes"), len(raw), where + ": raw_bytes")
        for col, want in (("min_ts", min(tss)), ("max_ts", max(tss))):
            got = r.get(col)
            if isinstance(got, str):
                got = ts_ms(got)
            tc.assertEqual(got, want, where + ": " + col)
        for l in LEVELS:
            tc.assertEqual(r.get("n_" + l), levels[l], where + ": n_" + l)
    tc.assertEqual(staging, [], "staging/.tmp files left in the store")
    return out


# -- load clients for the kill -9 tests ------------------------------------------------

class LoadClient(threading.Thread):
    """Posts NDJSON batches of uniquely numbered records on one keep-alive connection
    until stop is set or the daemon goes away. Each batch is recorded in results as
    (request id, [seq...], outcome) with outcome "acked", "partial:...", "refused:N" or
    "unknown" (no answer: the daemon died). Subclasses choose the batch size (max_records)
    and the records (make_record)."""

    max_records = 40

    def __init__(self, port, round_no, tid, rng_seed, stop, results, lock):
        super().__init__(daemon=True)
        self.port, self.round_no, self.tid = port, round_no, tid
        self.rng = random.Random(rng_seed)
        self.stop, self.results, self.lock = stop, results, lock

    def make_record(self, seq, req):
        raise NotImplementedError

    def body(self, seqs, req):
        return "".join(json.dumps(self.make_record(s, req)) + "\n" for s in seqs).encode()

    def post(self, conn, body, n):
        conn.request("POST", "/v1/logs", body=body,
                     headers={"Content-Type": "application/x-ndjson"})
        r = conn.getresponse()
        data = r.read()
        if r.status == 202 and json.loads(data)["accepted"] == n:
            return "acked"
        if r.status == 202:
            return "partial:%s" % data[:200]
        return "refused:%d" % r.status

    def run(self):
        conn = None
        for k in range(100000):
            if self.stop.is_set():
                break
            req = "r%d-t%d-%d" % (self.round_no, self.tid, k)
            seqs = ["%s-%d" % (req, i) for i in range(self.rng.randint(1, self.max_records))]
            outcome = "unknown"
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
                outcome = self.post(conn, self.body(seqs, req), len(seqs))
            except (OSError, http.client.HTTPException, ValueError):
                outcome = "unknown"
            with self.lock:
                self.results.append((req, seqs, outcome))
            if outcome == "unknown":
                break  # the daemon is gone (or going)
            if outcome.startswith("refused"):
                time.sleep(0.05)
        if conn is not None:
            conn.close()


def kill_under_load(tc, d, client_cls, rnd, rng, threads, results, lock, max_delay_s):
    """One kill -9 round: starts `threads` client_cls load clients on daemon d, waits
    (bounded) for the round's first acknowledgement, then a random 0..max_delay_s more,
    kills the daemon with SIGKILL and joins the clients. Returns the number of requests
    acknowledged in this round (asserted > 0, so no round is vacuous)."""
    stop = threading.Event()
    clients = [client_cls(d.port, rnd, t, rng.random(), stop, results, lock)
               for t in range(threads)]
    for c in clients:
        c.start()
    prefix = "r%d-" % rnd
    deadline = time.monotonic() + 60
    for _ in range(6000):
        with lock:
            if any(o == "acked" and r.startswith(prefix) for r, _, o in results):
                break
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, max_delay_s))
    d.kill()  # SIGKILL, mid-load
    stop.set()
    for c in clients:
        c.join(timeout=60)
        tc.assertFalse(c.is_alive(), "client thread stuck after kill -9")
    with lock:
        n_acked = sum(1 for r, _, o in results if o == "acked" and r.startswith(prefix))
    tc.assertGreater(n_acked, 0, "round %d acknowledged nothing; log:\n%s"
                     % (rnd, d.log_tail()))
    return n_acked
