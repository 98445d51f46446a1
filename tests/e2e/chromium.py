"""chromium.py - drives Debian's headless chromium over the DevTools protocol (stdlib only).

The browser is started with --remote-debugging-pipe: DevTools messages are JSON texts
ending in a NUL byte, written to the browser's fd 3 and read from its fd 4, so no port,
no WebSocket and nothing to download. Flags keep it off the (closed) network. Every wait
is bounded; close() kills the browser's whole process group.

    with Browser() as b:
        page = b.new_page(1440, 1000)
        page.navigate("http://127.0.0.1:8080/")
        page.wait_for("document.body.dataset.polls >= 2", timeout=20)
        page.screenshot("/tmp/x.png")
        print(page.console_errors())
"""

import base64
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--mute-audio",
         "--no-default-browser-check", "--disable-dev-shm-usage", "--hide-scrollbars",
         "--font-render-hinting=none", "--remote-debugging-pipe"]


def find():
    """Path of a chromium binary, or None."""
    for name in CANDIDATES:
        p = shutil.which(name)
        if p:
            return p
    return None


class CDPError(Exception):
    pass


class Browser:
    def __init__(self, binary=None, timeout=30, tmp_root=None):
        self.binary = binary or find()
        if not self.binary:
            raise CDPError("no chromium binary on PATH")
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="cl-chromium-", dir=tmp_root)
        self.proc = None
        self._next_id = 0
        self._buf = b""
        self.events = []  # (sessionId, method, params) not yet consumed
        self._start()

    def _start(self):
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        # The child's ends, copied above fd 10 (close-on-exec) so that dup2-ing them onto
        # fds 3 and 4 in the child cannot clobber one with the other.
        hi_r = _dup_high(to_browser_r)
        hi_w = _dup_high(from_browser_w)

        def setup():
            os.setsid()  # own process group: close() kills renderers and helpers too
            try:
                import ctypes
                ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
            except Exception:
                pass
            os.dup2(hi_r, 3)  # inheritable copies; Python's other fds are close-on-exec
            os.dup2(hi_w, 4)

        args = [self.binary] + FLAGS + ["--user-data-dir=" + self.profile, "about:blank"]
        try:
            with open(os.path.join(self.profile, "stderr.log"), "wb") as err:
                self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                             stdout=subprocess.DEVNULL, stderr=err,
                                             close_fds=False, preexec_fn=setup)
        finally:
            for fd in (to_browser_r, from_browser_w, hi_r, hi_w):
                os.close(fd)
        self._w = to_browser_w
        self._r = from_browser_r
        self.call("Target.setDiscoverTargets", {"discover": False})

    # -- protocol ------------------------------------------------------------------
    def _send(self, msg):
        data = json.dumps(msg).encode("utf-8") + b"\0"
        while data:
            n = os.write(self._w, data)
            data = data[n:]

    def _read_one(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._r], [], [], min(left, 0.5))
            if not ready:
                if self.proc.poll() is not None:
                    raise CDPError("chromium exited with %s; stderr:\n%s"
                                   % (self.proc.returncode, self.stderr_tail()))
                continue
            chunk = os.read(self._r, 1 << 20)
            if not chunk:
                raise CDPError("chromium closed the DevTools pipe; stderr:\n%s" % self.stderr_tail())
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg.decode("utf-8"))

    def call(self, method, params=None, session=None, timeout=None):
        self._next_id += 1
        mid = self._next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self._send(msg)
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            m = self._read_one(deadline)
            if m is None:
                raise CDPError("no answer to %s within %ss" % (method, timeout or self.timeout))
            if m.get("id") == mid:
                if "error" in m:
                    raise CDPError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append((m.get("sessionId"), m["method"], m.get("params", {})))

    def pump(self, seconds):
        """Reads events for up to `seconds`."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            m = self._read_one(deadline)
            if m is None:
                return
            if "method" in m:
                self.events.append((m.get("sessionId"), m["method"], m.get("params", {})))

    def new_page(self, width=1440, height=1000):
        tid = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        sid = self.call("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
        page = Page(self, sid)
        for m in ("Page.enable", "Runtime.enable", "Log.enable", "Network.enable"):
            self.call(m, session=sid)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                  session=sid)
        return page

    def stderr_tail(self, n=3000):
        try:
            with open(os.path.join(self.profile, "stderr.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")[-n:]
        except OSError:
            return ""

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self._send({"id": 0, "method": "Browser.close", "params": {}})
                self.proc.wait(timeout=5)
            except Exception:
                pass
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the group this browser leads
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.proc.wait(timeout=10)
            except Exception:
                pass
        for fd in (getattr(self, "_w", None), getattr(self, "_r", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._w = self._r = None
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def _dup_high(fd):
    import fcntl
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)


class Page:
    def __init__(self, browser, session):
        self.b = browser
        self.sid = session

    def call(self, method, params=None, timeout=None):
        return self.b.call(method, params, session=self.sid, timeout=timeout)

    def navigate(self, url, timeout=30):
        self.call("Page.navigate", {"url": url}, timeout=timeout)
        self.wait_for("document.readyState === 'complete'", timeout=timeout)

    def eval(self, expr, timeout=None):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                           "awaitPromise": True}, timeout=timeout)
        if "exceptionDetails" in r:
            raise CDPError("evaluate %r: %s" % (expr, r["exceptionDetails"].get("text")))
        return r.get("result", {}).get("value")

    def wait_for(self, expr, timeout=30, interval=0.25):
        """Polls a JS expression until truthy (bounded). Returns its value."""
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / interval) + 10):
            try:
                v = self.eval(expr)
            except CDPError:
                v = None
            if v:
                return v
            if time.monotonic() > deadline:
                break
            self.b.pump(interval)
        raise CDPError("timed out after %ss waiting for %s" % (timeout, expr))

    def screenshot(self, path, full_page=True):
        params = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            m = self.call("Page.getLayoutMetrics")
            size = m.get("cssContentSize") or m.get("contentSize")
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                              "scale": 1}
        data = self.call("Page.captureScreenshot", params, timeout=60)["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def set_dark(self, dark):
        self.call("Emulation.setEmulatedMedia", {"features": [
            {"name": "prefers-color-scheme", "value": "dark" if dark else "light"}]})

    def messages(self):
        """Console output of this page: [(level, source, text, url)] from console.* calls,
        uncaught exceptions, and browser log entries (network errors, CSP violations)."""
        out = []
        for sid, method, p in self.b.events:
            if sid != self.sid:
                continue
            if method == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
                out.append((p.get("type"), "console", text, ""))
            elif method == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                desc = d.get("exception", {}).get("description") or d.get("text")
                out.append(("error", "exception", desc, d.get("url", "")))
            elif method == "Log.entryAdded":
                e = p.get("entry", {})
                out.append((e.get("level"), e.get("source"), e.get("text"), e.get("url", "")))
        return out

    def console_errors(self, allow=()):
        """Error-level messages, minus those for which allow(msg) is true."""
        return [m for m in self.messages()
                if m[0] in ("error", "assert") and not any(a(m) for a in allow)]

    def failed_requests(self):
        """[(url, status)] of this page's HTTP answers >= 400, and failed loads (status 0)."""
        out = []
        for sid, method, p in self.b.events:
            if sid != self.sid:
                continue
            if method == "Network.responseReceived":
                r = p.get("response", {})
                if r.get("status", 0) >= 400:
                    out.append((r.get("url"), r.get("status")))
            elif method == "Network.loadingFailed" and not p.get("canceled"):
                out.append((p.get("requestId"), 0))
        return out
