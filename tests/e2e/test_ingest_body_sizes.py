"""Request bodies of many chunks, with and without Content-Length (the daemon sizes the
body buffer once from Content-Length, else grows it as chunks arrive): every record of
each arrives and is stored, none twice, none cut at a chunk boundary."""

import http.client
import json

import cltest


def records(tag, n):
    """An NDJSON body of n ~300-byte records (many of MHD's receive chunks)."""
    pad = "x" * 240
    return "".join(json.dumps({"message": "%s %d %s" % (tag, i, pad), "service": "s%d" % (i % 7)})
                   + "\n" for i in range(n)).encode()


class BodySizes(cltest.DaemonTestCase):
    def post_chunked(self, d, body, piece):
        """POSTs body with Transfer-Encoding: chunked (no Content-Length)."""
        c = d.conn()
        try:
            parts = (body[i:i + piece] for i in range(0, len(body), piece))
            c.request("POST", "/v1/logs", body=parts, encode_chunked=True,
                      headers={"Content-Type": "application/x-ndjson"})
            r = c.getresponse()
            return r.status, json.loads(r.read())
        finally:
            c.close()

    def test_bodies_with_and_without_length(self):
        d = self.daemon(args=["--flush-age", "200ms"])
        sized = records("sized", 4000)
        self.assertGreater(len(sized), 1 << 20)
        st, _, js = d.post_logs(sized, content_type="application/x-ndjson")
        self.assertEqual((st, js["accepted"], js["rejected"]), (202, 4000, 0), js)
        chunked = records("chunked", 3000)
        st, js = self.post_chunked(d, chunked, 7777)
        self.assertEqual((st, js["accepted"], js["rejected"]), (202, 3000, 0), js)
        small = records("small", 3)  # shorter than one receive chunk
        st, _, js = d.post_logs(small, content_type="application/x-ndjson")
        self.assertEqual((st, js["accepted"]), (202, 3), js)
        cltest.wait_drained(d.data_dir, timeout=90, daemon=d)
        objs, _, _ = cltest.store_scan(d.data_dir)
        msgs = [json.loads(line)["message"] for o in objs for line in cltest.object_lines(o["path"])]
        for tag, n in (("sized", 4000), ("chunked", 3000), ("small", 3)):
            got = sorted(int(m.split()[1]) for m in msgs if m.startswith(tag + " "))
            self.assertEqual(got, list(range(n)), tag)


if __name__ == "__main__":
    cltest.main()
