"""A minimal loopback Lambda Runtime API (2018-06-01) for the packaging tests.

Just enough of AWS's Runtime API for a bootstrap to start, report an init error, take one
event and post its answer: GET .../invocation/next hands out queued events (blocking until
one is queued or the server stops), POST .../invocation/{id}/response|error and
.../init/error are recorded and answered 202. Python stdlib only; 127.0.0.1 only.
"""
import json
import queue
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PREFIX = "/2018-06-01/runtime"


class RuntimeStub:
    """Start with start(), stop with stop(); api is the AWS_LAMBDA_RUNTIME_API value."""

    def __init__(self):
        self.events = queue.Queue()
        self.posts = queue.Queue()  # (kind, request_id or None, parsed JSON body, headers)
        self.stopping = threading.Event()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path != PREFIX + "/invocation/next":
                    return self.answer(404, {"errorMessage": "unknown path"})
                event = stub.wait_event()
                if event is None:  # stopping: close without an event
                    return self.answer(500, {"errorMessage": "runtime stub stopping"})
                request_id, payload = event
                body = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
                self.send_header(
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:packaging-test",
                )
                self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                parts = self.path[len(PREFIX) :].strip("/").split("/")
                if parts == ["init", "error"]:
                    kind, request_id = "init_error", None
                elif len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
                    kind, request_id = parts[2], parts[1]
                else:
                    return self.answer(404, {"errorMessage": "unknown path"})
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                stub.posts.put((kind, request_id, body, dict(self.headers)))
                self.answer(202, {"status": "OK"})

            def answer(self, status, payload):
                body = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the function was killed while waiting for /next

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.api = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def wait_event(self):
        """The next queued event, or None once stopping (polls so stop() is prompt)."""
        while not self.stopping.is_set():
            try:
                return self.events.get(timeout=0.2)
            except queue.Empty:
                pass
        return None

    def invoke(self, payload):
        """Queues an event; returns its request id."""
        request_id = str(uuid.uuid4())
        self.events.put((request_id, payload))
        return request_id

    def next_post(self, timeout_s):
        """The next post the function made, or None after timeout_s."""
        try:
            return self.posts.get(timeout=timeout_s)
        except queue.Empty:
            return None
