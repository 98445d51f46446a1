"""End-to-end tests of backpressure: over --queue-max-depth / --queue-max-bytes ingest
answers 503 with Retry-After and accepts nothing more."""

import base64
import json
import os
import socket
import time

import cltest

# These tests read the queue back; no processor may drain it.
cltest.ingest_only()


def assert_503(tc, resp):
    st, hd, js = resp
    tc.assertEqual(st, 503, "expected 503, got %s %r" % (st, js))
    ra = hd.get("retry-after")
    tc.assertIsNotNone(ra, "503 without Retry-After: %r" % hd)
    tc.assertTrue(ra.strip().isdigit() and int(ra) >= 1, "Retry-After %r" % ra)


class Backpressure(cltest.DaemonTestCase):
    def fill(self, d, make_body, max_posts=20):
        """POSTs until the first 503; returns (acked seqs, number of 202s, the 503 response)."""
        acked = []
        for i in range(max_posts):
            resp = d.post_logs(make_body(i), content_type="application/x-ndjson")
            if resp[0] == 503:
                return acked, resp
            self.assertAccepted(resp, 1)
            acked.append(i)
        self.fail("no 503 after %d posts" % max_posts)

    def check_nothing_more(self, d, acked, make_body):
        for i in range(100, 103):
            assert_503(self, d.post_logs(make_body(i), content_type="application/x-ndjson"))
        seqs = [json.loads(l)["seq"] for l in d.records()]
        self.assertEqual(seqs, acked)
        self.assertEqual(d.request("GET", "/healthz")[0], 200)

    def test_queue_max_depth(self):
        d = self.daemon(args=["--queue-max-depth", "2"])
        body = lambda i: json.dumps({"message": "bp", "seq": i}) + "\n"
        acked, resp = self.fill(d, body)
        assert_503(self, resp)
        self.assertIn(len(acked), (2, 3), "202s before the first 503 at depth 2")
        self.assertEqual(len(d.messages()), len(acked))
        self.check_nothing_more(d, acked, body)
        d.stop()
        # The depth is persistent: a restarted daemon is still over capacity.
        d2 = self.daemon(args=["--queue-max-depth", "2"], data_dir=d.data_dir)
        assert_503(self, d2.post_logs(body(200), content_type="application/x-ndjson"))
        self.assertEqual([json.loads(l)["seq"] for l in d2.records()], acked)
        d2.stop()

    def test_queue_max_bytes(self):
        d = self.daemon(args=["--queue-max-bytes", "4KiB"])
        # ~3 KiB of base64 noise per record: compresses poorly, so each message is > 2 KiB.
        body = lambda i: json.dumps({"message": "bp", "seq": i,
                                     "noise": base64.b64encode(os.urandom(2300)).decode()}) + "\n"
        acked, resp = self.fill(d, body)
        assert_503(self, resp)
        self.assertGreaterEqual(len(acked), 1)
        self.assertLessEqual(len(acked), 3)
        self.check_nothing_more(d, acked, body)
        d.stop()

    def test_max_inflight_bytes(self):
        # A slow request holding most of --max-inflight makes a second one wait (503),
        # and both succeed once the first has finished. The budget is first come, first
        # served: if a small request still holds its share when the big one's headers
        # arrive, the big one is refused instead; that attempt is then repeated.
        d = self.daemon(args=["--max-inflight", "32KiB"])
        rec = json.dumps({"message": "inflight", "pad": "x" * 200}) + "\n"
        big = (rec * (30000 // len(rec))).encode()
        head = ("POST /v1/logs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Content-Type: application/x-ndjson\r\nContent-Length: %d\r\n\r\n"
                % len(big)).encode()
        small = (rec * 20).encode()
        for attempt in range(5):
            s = socket.create_connection((cltest.HOST, d.port), timeout=60)
            try:
                s.sendall(head + big[:1000])
                time.sleep(0.3)  # let the daemon read the headers before anything else
                resp = None
                for _ in range(60):  # bounded wait for the 503 (about 3 s)
                    resp = d.post_logs(small, content_type="application/x-ndjson")
                    if resp[0] == 503:
                        break
                    time.sleep(0.05)
                if resp[0] != 503:
                    continue  # the big request lost the race for the budget: try again
                assert_503(self, resp)
                s.sendall(big[1000:])
                st, _, data = cltest.read_response(s)
                self.assertEqual(st, 202, data)
                break
            finally:
                s.close()
        else:
            self.fail("no 503 while a slow request held the in-flight budget in 5 attempts")
        self.assertAccepted(d.post_logs(small, content_type="application/x-ndjson"), 20)
        d.stop()

if __name__ == "__main__":
    cltest.main()
