#!/usr/bin/env python3
"""fake_sink.py - stand-in for POST /v1/logs (202 {"accepted":N}) to test bench_loadgen without the daemon.

usage: fake_sink.py PORT [--throttle-every N]   (every Nth request gets 503 + Retry-After: 1)
PORT 0 picks a free port; the "listening on" line names it. SIGTERM exits 0.
Counts NDJSON lines, gunzips Content-Encoding: gzip, keeps connections alive, GET /healthz -> 200.
"""
import gzip
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

THROTTLE_EVERY = 0
_count = 0
_lock = threading.Lock()


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def log_message(self, *args):
        pass

    def _reply(self, status, body, extra=()):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._reply(200 if self.path == "/healthz" else 404, '{"status":"ok"}')

    def do_POST(self):
        global _count
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with _lock:
            _count += 1
            n = _count
        if THROTTLE_EVERY and n % THROTTLE_EVERY == 0:
            self._reply(503, '{"error":"over capacity"}', [("Retry-After", "1")])
            return
        if self.headers.get("Content-Encoding", "") == "gzip":
            body = gzip.decompress(body)
        lines = sum(1 for line in body.split(b"\n") if line.strip())
        self._reply(202, '{"accepted":%d,"rejected":0,"errors":[]}' % lines)


def main():
    global THROTTLE_EVERY
    port = int(sys.argv[1])
    if "--throttle-every" in sys.argv:
        THROTTLE_EVERY = int(sys.argv[sys.argv.index("--throttle-every") + 1])
    ThreadingHTTPServer.request_queue_size = 128
    srv = ThreadingHTTPServer(("127.0.0.1", port), Sink)
    srv.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("listening on http://127.0.0.1:%d" % srv.server_address[1], file=sys.stderr, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
