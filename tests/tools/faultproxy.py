#!/usr/bin/env python3
"""faultproxy.py - a loopback HTTP/1.1 proxy that injects AWS-shaped faults (stdlib only).

It sits between a client under test and an AWS stand-in (moto): the client is pointed at
the proxy as its endpoint, and every request is forwarded unchanged - method, path, query,
headers including Host (so SigV4 signatures still verify upstream) and body - to
--upstream, unless a fault rule matches it.

Command line:
    python3 tests/tools/faultproxy.py --upstream http://127.0.0.1:PORT --port-file FILE
binds 127.0.0.1:0 (or --port N), writes the chosen port to FILE once it listens, and serves
until SIGTERM/SIGINT.

Control, over HTTP on the same port:
    POST   /__faults      a JSON rule or list of rules (appended; answers the rule list)
    GET    /__faults      the current rules with their remaining counts
    DELETE /__faults      clears the rules and the log
    GET    /__faults/log  a JSON list of the requests seen, in arrival order, and what was
                          done with each: {"method","path","target","action","status",
                          "rule"} (status: the answer's, null while pending or for a
                          reset/stall; rule: index of the rule applied, null = forwarded)

A rule (JSON object) matches when all of its given matchers do:
    "method": "PUT"                       exact, case-insensitive
    "path": "part=3"                      substring of the path with its query
    "target": "SendMessageBatch"          substring of the X-Amz-Target header
and is applied "times" times (default 1; null = every matching request). Actions:
    {"action": "status", "status": 503, "code": "SlowDown", "message": "..."}
        answers that status with an AWS error body and does not forward: XML
        (<Error><Code>) for REST/XML services such as S3, JSON {"__type","message"} for
        JSON-protocol requests (those with X-Amz-Target). "code" defaults by status:
        503 SlowDown (XML) / ServiceUnavailable (JSON), 500 InternalError (XML) /
        InternalFailure (JSON), 400 ThrottlingException, 429 TooManyRequestsException.
    {"action": "reset"}           closes the connection abruptly (TCP RST), no response
    {"action": "stall", "seconds": 5}
        holds the connection for that long without answering, then closes it
    reset and stall take "forward": true to forward the request first (the upstream applies
        it, the client never sees the answer: the lost-acknowledgement case)
    {"action": "entry_fail"}      for SQS SendMessageBatch: answers 200 with every entry of
        the batch in Failed (SenderFault false, Code InternalError), without forwarding

Python API (for e2e tests):
    from faultproxy import FaultProxy
    with FaultProxy.start_thread("http://127.0.0.1:5000") as fp:   # or start_process(...)
        fp.add({"method": "PUT", "action": "status", "status": 503})
        ... point the client at fp.url ...
        fp.log(); fp.clear()
"""

import argparse
import http.client
import http.server
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

CONTROL = "/__faults"
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authorization",
              "te", "trailer", "transfer-encoding", "upgrade", "expect"}
XML_CODES = {500: "InternalError", 503: "SlowDown", 400: "ThrottlingException",
             429: "TooManyRequestsException", 502: "BadGateway", 504: "GatewayTimeout"}
JSON_CODES = {500: "InternalFailure", 503: "ServiceUnavailable", 400: "ThrottlingException",
              429: "TooManyRequestsException", 502: "BadGateway", 504: "GatewayTimeout"}
MAX_LOG = 100000  # entries kept; older ones are dropped


class Rules:
    """The rule list and the request log, shared by all handler threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []
        self.log = []

    def add(self, rules):
        if isinstance(rules, dict):
            rules = [rules]
        checked = []
        for r in rules:
            if not isinstance(r, dict) or r.get("action") not in (
                    "status", "reset", "stall", "entry_fail"):
                raise ValueError("rule needs an action of status/reset/stall/entry_fail: %r" % r)
            r = dict(r)
            r.setdefault("times", 1)
            checked.append(r)
        with self.lock:
            self.rules.extend(checked)
            return list(self.rules)

    def clear(self):
        with self.lock:
            self.rules = []
            self.log = []

    def take(self, method, path, target):
        """The first rule matching the request with uses left (its count is spent)."""
        with self.lock:
            for i, r in enumerate(self.rules):
                if r["times"] is not None and r["times"] <= 0:
                    continue
                if "method" in r and r["method"].upper() != method.upper():
                    continue
                if "path" in r and r["path"] not in path:
                    continue
                if "target" in r and r["target"] not in (target or ""):
                    continue
                if r["times"] is not None:
                    r["times"] -= 1
                return i, dict(r)
        return None, None

    def record(self, entry):
        with self.lock:
            self.log.append(entry)
            del self.log[:-MAX_LOG]

    def snapshot(self):
        with self.lock:
            return [dict(r) for r in self.rules], [dict(e) for e in self.log]


def error_body(rule, json_protocol):
    status = int(rule.get("status", 500))
    table = JSON_CODES if json_protocol else XML_CODES
    code = rule.get("code") or table.get(status, "InternalError")
    msg = rule.get("message") or "injected by faultproxy"
    if json_protocol:
        return code, "application/x-amz-json-1.0", json.dumps(
            {"__type": code, "message": msg}).encode()
    xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
           "<Message>%s</Message><RequestId>faultproxy</RequestId></Error>" % (code, msg))
    return code, "application/xml", xml.encode()


def batch_failure_body(body):
    """SendMessageBatch response failing every entry of the request body."""
    entries = json.loads(body or b"{}").get("Entries", [])
    failed = [{"Id": e.get("Id", ""), "SenderFault": False, "Code": "InternalError",
               "Message": "injected by faultproxy"} for e in entries]
    return json.dumps({"Successful": [], "Failed": failed}).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "faultproxy"

    def log_message(self, fmt, *args):  # quiet: the /__faults/log is the record
        pass

    def setup(self):
        super().setup()
        self.upstream = None  # one upstream connection per client connection (reuse)

    def finish(self):
        if self.upstream:
            self.upstream.close()
        super().finish()

    # Every method goes through one dispatcher.
    def do_GET(self):
        self.dispatch()

    do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = do_GET

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def reply(self, status, body, ctype="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def dispatch(self):
        body = self.read_body()
        if self.path == CONTROL or self.path.startswith(CONTROL + "/"):
            return self.control(body)
        rules = self.server.rules
        target = self.headers.get("X-Amz-Target")
        idx, rule = rules.take(self.command, self.path, target)
        entry = {"method": self.command, "path": self.path, "target": target,
                 "action": rule["action"] if rule else "forward", "status": None, "rule": idx}
        rules.record(entry)  # in arrival order; the status is filled in when known
        if rule is None:
            status = self.forward(body)
        else:
            status = self.inject(rule, body, target)
        with rules.lock:
            entry["status"] = status

    def inject(self, rule, body, target):
        action = rule["action"]
        if action == "status":
            code, ctype, payload = error_body(rule, target is not None)
            status = int(rule.get("status", 500))
            self.reply(status, payload, ctype, [("x-amzn-ErrorType", code)])
            return status
        if action == "entry_fail":
            self.reply(200, batch_failure_body(body), "application/x-amz-json-1.0")
            return 200
        if rule.get("forward"):
            self.forward(body, send=False)
        if action == "stall":
            deadline = time.monotonic() + float(rule.get("seconds", 5))
            while time.monotonic() < deadline and not self.server.stopping:
                time.sleep(0.05)
        else:  # reset: SO_LINGER 0 makes close() send RST instead of FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()
        return None

    def forward(self, body, send=True):
        """Sends the request upstream unchanged; relays the answer unless send is False."""
        up = self.server.upstream
        for attempt in (1, 2):  # a kept-alive upstream connection may have been closed
            try:
                if self.upstream is None:
                    self.upstream = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
                self.upstream.putrequest(self.command, self.path, skip_host=True,
                                         skip_accept_encoding=True)
                for k, v in self.headers.items():
                    if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                        self.upstream.putheader(k, v)
                if body or self.command in ("PUT", "POST"):
                    self.upstream.putheader("Content-Length", str(len(body)))
                self.upstream.endheaders(body)
                resp = self.upstream.getresponse()
                data = resp.read()
                break
            except (http.client.HTTPException, OSError):
                self.upstream.close()
                self.upstream = None
                if attempt == 2:
                    if send:
                        self.reply(502, b"<Error><Code>BadGateway</Code>"
                                   b"<Message>faultproxy: upstream unreachable</Message></Error>",
                                   "application/xml")
                    return 502
        if send:
            self.send_response(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                    self.send_header(k, v)
            length = resp.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", length or str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
        return resp.status

    def control(self, body):
        rules = self.server.rules
        try:
            if self.command == "POST" and self.path == CONTROL:
                now = rules.add(json.loads(body))
                return self.reply(200, json.dumps(now).encode())
            if self.command == "DELETE" and self.path == CONTROL:
                rules.clear()
                return self.reply(200, b"[]")
            if self.command == "GET" and self.path in (CONTROL, CONTROL + "/log"):
                current, log = rules.snapshot()
                return self.reply(200, json.dumps(log if self.path.endswith("/log")
                                                  else current).encode())
        except ValueError as e:
            return self.reply(400, json.dumps({"error": str(e)}).encode())
        self.reply(404, b'{"error": "unknown control request"}')


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, upstream, port=0):
        super().__init__(("127.0.0.1", port), Handler)
        self.upstream = urllib.parse.urlsplit(upstream)
        if self.upstream.scheme != "http" or not self.upstream.hostname:
            raise ValueError("--upstream must be http://HOST:PORT, got %r" % upstream)
        self.rules = Rules()
        self.stopping = False


class FaultProxy:
    """A running proxy (in a thread of this process or a child process) and its control."""

    def __init__(self, port, server=None, thread=None, proc=None):
        self.port = port
        self.url = "http://127.0.0.1:%d" % port
        self._server, self._thread, self._proc = server, thread, proc

    @classmethod
    def start_thread(cls, upstream):
        server = Server(upstream)
        t = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                             daemon=True)
        t.start()
        return cls(server.server_address[1], server=server, thread=t)

    @classmethod
    def start_process(cls, upstream, port_file, timeout=20):
        """Starts this file as a child in its own process group; stop() kills the group."""
        if os.path.exists(port_file):
            os.unlink(port_file)
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--upstream",
                                 upstream, "--port-file", port_file], start_new_session=True)
        deadline = time.monotonic() + timeout
        while not (os.path.exists(port_file) and os.path.getsize(port_file) > 0):
            if proc.poll() is not None or time.monotonic() > deadline:
                cls._kill(proc)
                raise RuntimeError("faultproxy did not start (exit %r)" % proc.poll())
            time.sleep(0.05)
        with open(port_file) as f:
            return cls(int(f.read().strip()), proc=proc)

    @staticmethod
    def _kill(proc):
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)

    def stop(self):
        if self._server:
            self._server.stopping = True
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=10)
            self._server = None
        if self._proc:
            if self._proc.poll() is None:
                self._kill(self._proc)
            self._proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def _call(self, method, path, payload=None):
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def add(self, *rules):
        """Appends rules (dicts, see the module docstring); returns the rule list."""
        return self._call("POST", CONTROL, list(rules))

    def clear(self):
        self._call("DELETE", CONTROL)

    def rules(self):
        return self._call("GET", CONTROL)

    def log(self):
        return self._call("GET", CONTROL + "/log")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", required=True, help="http://HOST:PORT of the real service")
    ap.add_argument("--port-file", help="write the listening port here")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any)")
    args = ap.parse_args()
    server = Server(args.upstream, args.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.port_file:  # written after bind, renamed so readers never see a partial file
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % server.server_address[1])
        os.replace(tmp, args.port_file)
    try:
        server.serve_forever(poll_interval=0.2)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.stopping = True
        server.server_close()


if __name__ == "__main__":
    main()
