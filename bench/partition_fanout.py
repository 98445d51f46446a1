"""partition_fanout.py - issue 13 item 2: one request whose 2,000 records each open their
own partition (years 1, 5, 9, ..., 7997), with the timestamp window turned off so they are
all stored; prints how long the daemon takes until the 2,000 objects are published.

    python3 bench/partition_fanout.py build-release/cloudlog

With the default window the same body is 2,000 rejections and no object at all
(tests/e2e/test_ingest_guards.py); this measures the processor's cost per partition
when an operator widens the window."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "build-release/cloudlog"
    data = tempfile.mkdtemp(prefix="cl-fanout-")
    env = dict(os.environ, CLOUDLOG_MAX_RECORD_AGE="0", CLOUDLOG_MAX_RECORD_FUTURE="0")
    p = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--data", data,
                          "--flush-age", "1s"], stderr=subprocess.PIPE, env=env)
    try:
        port = None
        for _ in range(200):
            m = re.search(r"listening on [^ ]*:(\d+)", p.stderr.readline().decode())
            if m:
                port = int(m.group(1))
                break
        body = "".join(json.dumps({"message": "y", "ts": "%04d-06-15T12:00:00Z" % (1 + 4 * i)})
                       + "\n" for i in range(2000)).encode()
        t0 = time.monotonic()
        req = urllib.request.Request("http://127.0.0.1:%d/v1/logs" % port, body,
                                     {"Content-Type": "application/x-ndjson"})
        urllib.request.urlopen(req, timeout=120).read()
        objs = 0
        for _ in range(12000):  # at most 10 minutes
            objs = sum(1 for root, _, fs in os.walk(os.path.join(data, "logs"))
                       for f in fs if f.endswith(".ndjson.gz") and "_staging" not in root)
            if objs >= 2000:
                break
            time.sleep(0.05)
        print("%d objects stored %.1f s after the request" % (objs, time.monotonic() - t0))
    finally:
        p.terminate()
        p.wait(timeout=60)
        shutil.rmtree(data)


if __name__ == "__main__":
    main()
