"""lambda_runtime.py - a loopback AWS Lambda Runtime API server for tests (stdlib only).

Follows AWS's Runtime API reference (version 2018-06-01):
  GET  /2018-06-01/runtime/invocation/next         blocks until an event is queued; 200 with
       the event as body and the headers Lambda-Runtime-Aws-Request-Id,
       Lambda-Runtime-Deadline-Ms, Lambda-Runtime-Invoked-Function-Arn,
       Lambda-Runtime-Trace-Id; 500 once the server is closing ("container error, the
       runtime should exit").
  POST /2018-06-01/runtime/invocation/{id}/response  202 {"status":"OK"}; 400 for an unknown
       id, 403 InvalidStateTransition when answered twice, 413 above 6291556 bytes.
  POST /2018-06-01/runtime/invocation/{id}/error     the same, recording the
       Lambda-Runtime-Function-Error-Type header and the error JSON.
  POST /2018-06-01/runtime/init/error                202, recorded.

    rt = RuntimeAPI(); env["AWS_LAMBDA_RUNTIME_API"] = rt.address
    rid = rt.invoke(event_dict_or_bytes, timeout_s=30)
    kind, body, headers = rt.result(rid, timeout=60)   # kind: "response" | "error"
    rt.process_died()   # as Lambda does when the runtime exits mid-invocation
    rt.close()
"""

import json
import queue
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"
MAX_RESPONSE = 6 * 1024 * 1024 + 100  # RIE's limit, 6291556 bytes
FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:cloudlog-test"



class _Server(ThreadingHTTPServer):
    """A function killed mid-request (the crash tests do it) resets its connection: that
    is expected here, not an error worth a traceback."""

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

class Invocation:
    def __init__(self, rid, event, deadline_ms, trace_id):
        self.rid = rid
        self.event = event
        self.deadline_ms = deadline_ms
        self.trace_id = trace_id
        self.taken = False
        self.kind = None  # "response" | "error"
        self.body = None
        self.headers = None
        self.done = threading.Event()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _reply(self, status, obj, headers=()):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the runtime process was killed (crash tests)

    def do_GET(self):
        rt = self.server.rt
        if self.path != PREFIX + "/invocation/next":
            return self._reply(404, {"errorMessage": "not found", "errorType": "NotFound"})
        rt.next_requests.append(time.monotonic())
        rt.next_waiting.set()
        inv = rt._take()
        if inv is None:
            return self._reply(500, {"errorMessage": "runtime API is shutting down",
                                     "errorType": "Runtime.ContainerError"})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(inv.event)))
        self.send_header("Lambda-Runtime-Aws-Request-Id", inv.rid)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(inv.deadline_ms))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN)
        if inv.trace_id:
            self.send_header("Lambda-Runtime-Trace-Id", inv.trace_id)
        self.end_headers()
        self.wfile.write(inv.event)

    def do_POST(self):
        rt = self.server.rt
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_RESPONSE:
            self.rfile.read(length)
            return self._reply(413, {"errorMessage": "Exceeded maximum allowed payload size "
                                     "(%d bytes)." % MAX_RESPONSE,
                                     "errorType": "RequestEntityTooLarge"})
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        if self.path == PREFIX + "/init/error":
            rt.init_errors.append((headers, body))
            return self._reply(202, {"status": "OK"})
        parts = self.path[len(PREFIX):].split("/")  # ['', 'invocation', id, kind]
        if len(parts) != 4 or parts[1] != "invocation" or parts[3] not in ("response", "error"):
            return self._reply(404, {"errorMessage": "not found", "errorType": "NotFound"})
        status, reply = rt._answer(parts[2], parts[3], body, headers)
        self._reply(status, reply)


class RuntimeAPI:
    def __init__(self):
        self.httpd = _Server(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.rt = self
        self.lock = threading.Lock()
        self.pending = queue.Queue()
        self.invocations = {}
        self.init_errors = []
        self.next_requests = []  # monotonic times of GET /next
        self.next_waiting = threading.Event()
        self.closing = False
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self):
        return "127.0.0.1:%d" % self.httpd.server_address[1]

    def invoke(self, event, timeout_s=30.0, trace_id=None, rid=None):
        """Queues an event (dict or bytes); returns its request id."""
        data = event if isinstance(event, bytes) else json.dumps(event).encode()
        rid = rid or str(uuid.uuid4())
        trace = trace_id or "Root=1-5bef4de7-%s;Parent=9a9197af755a6419;Sampled=1" % \
            uuid.uuid4().hex[:24]
        inv = Invocation(rid, data, int(time.time() * 1000 + timeout_s * 1000), trace)
        with self.lock:
            self.invocations[rid] = inv
        self.pending.put(inv)
        return rid

    def _take(self):
        while not self.closing:
            try:
                inv = self.pending.get(timeout=0.2)
            except queue.Empty:
                continue
            with self.lock:
                inv.taken = True
            return inv
        return None

    def _answer(self, rid, kind, body, headers):
        with self.lock:
            inv = self.invocations.get(rid)
            if inv is None or not inv.taken:
                return 400, {"errorMessage": "Invalid request ID", "errorType": "InvalidRequestID"}
            if inv.kind is not None:
                return 403, {"errorMessage": "Invalid state transition",
                             "errorType": "InvalidStateTransition"}
            inv.kind, inv.body, inv.headers = kind, body, headers
        inv.done.set()
        return 202, {"status": "OK"}

    def result(self, rid, timeout=60.0):
        """Waits for the invocation's answer: (kind, body bytes, headers dict)."""
        inv = self.invocations[rid]
        if not inv.done.wait(timeout):
            raise TimeoutError("no answer to invocation %s within %ss" % (rid, timeout))
        return inv.kind, inv.body, inv.headers

    def call(self, event, timeout=60.0, **kw):
        """invoke + result; a response body is returned parsed as JSON."""
        kind, body, headers = self.result(self.invoke(event, **kw), timeout)
        return kind, (json.loads(body) if body else None), headers

    def process_died(self, error_type="Runtime.ExitError"):
        """Fails every taken, unanswered invocation, as Lambda does when the runtime
        process exits during an invocation. Returns their request ids."""
        failed = []
        with self.lock:
            for inv in self.invocations.values():
                if inv.taken and inv.kind is None:
                    inv.kind = "error"
                    inv.body = json.dumps({"errorMessage": "Runtime exited without providing "
                                           "a reason", "errorType": error_type}).encode()
                    inv.headers = {"lambda-runtime-function-error-type": error_type}
                    inv.done.set()
                    failed.append(inv.rid)
        return failed

    def close(self):
        self.closing = True
        self.httpd.shutdown()
        self.httpd.server_close()
