"""Idempotency-Key on POST /v1/logs (docs/ingest.md).

- Lost answer: tests/tools/faultproxy.py sits between the client and the daemon and
  resets the connection after forwarding the first POST (the daemon commits, the client
  never hears). The retry with the same key answers the first answer (same status and
  body, Idempotent-Replayed: true) and adds nothing: every record is queued once.
- The same key with a different body: 422 with a clear message, nothing added.
- A key that is not 1-255 printable ASCII characters: 400.
- Without a key, a retry adds the records again (at-least-once, as before)."""

import collections
import http.client
import json
import os
import sys

import cltest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from faultproxy import FaultProxy  # noqa: E402

cltest.ingest_only()  # the records are read back from queue.db


def ndjson(prefix, n):
    return "".join(json.dumps({"message": "%s %d" % (prefix, i), "seq": "%s-%d" % (prefix, i)})
                   + "\n" for i in range(n))


def post(url, body, key=None, timeout=30):
    host, port = url.split("//")[1].split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        headers = {"Content-Type": "application/x-ndjson"}
        if key is not None:
            headers["Idempotency-Key"] = key
        c.request("POST", "/v1/logs", body=body, headers=headers)
        r = c.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        c.close()


class Idempotency(cltest.DaemonTestCase):
    def seqs(self, d):
        return collections.Counter(json.loads(l)["seq"] for l in d.records())

    def test_lost_answer_then_retry_adds_nothing(self):
        d = self.daemon()
        with FaultProxy.start_thread("http://127.0.0.1:%d" % d.port) as fp:
            fp.add({"method": "POST", "path": "/v1/logs", "action": "reset", "forward": True})
            body = ndjson("lost", 30)
            try:
                post(fp.url, body, key="order-1")
                self.fail("the proxy should have dropped the answer")
            except (ConnectionError, http.client.HTTPException, OSError):
                pass
            self.assertEqual(sum(self.seqs(d).values()), 30, "the first request was committed")
            st, hdrs, first = post(fp.url, body, key="order-1")
            self.assertEqual(st, 202, first)
            self.assertEqual(hdrs.get("idempotent-replayed"), "true")
            self.assertEqual(json.loads(first)["accepted"], 30)
            st2, _, again = post(fp.url, body, key="order-1")
            self.assertEqual((st2, again), (st, first), "same status and body every time")
        seqs = self.seqs(d)
        self.assertEqual(sorted(s for s, c in seqs.items() if c > 1), [], "queued twice")
        self.assertEqual(len(seqs), 30)

    def test_same_key_other_body_is_422(self):
        d = self.daemon()
        st, _, _ = post("http://127.0.0.1:%d" % d.port, ndjson("a", 3), key="k-422")
        self.assertEqual(st, 202)
        st, hdrs, body = post("http://127.0.0.1:%d" % d.port, ndjson("b", 3), key="k-422")
        self.assertEqual(st, 422, body)
        self.assertIn("already used with a different request", json.loads(body)["error"])
        self.assertNotIn("idempotent-replayed", hdrs)
        self.assertEqual(sorted(self.seqs(d)), ["a-0", "a-1", "a-2"])

    def test_bad_keys_are_400_and_no_key_is_at_least_once(self):
        d = self.daemon()
        url = "http://127.0.0.1:%d" % d.port
        for bad in ["", "x" * 256, "tab\there"]:
            st, _, body = post(url, ndjson("bad", 1), key=bad)
            self.assertEqual(st, 400, (bad, body))
            self.assertIn("Idempotency-Key", json.loads(body)["error"])
        self.assertEqual(post(url, ndjson("plain", 2))[0], 202)
        self.assertEqual(post(url, ndjson("plain", 2))[0], 202)
        self.assertEqual(self.seqs(d), collections.Counter({"plain-0": 2, "plain-1": 2}))


if __name__ == "__main__":
    cltest.main()
