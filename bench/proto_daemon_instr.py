#!/usr/bin/env python3
"""proto_daemon_instr.py - the daemon's instructions per ingested record for each shipper
protocol, counted by callgrind over the whole daemon (HTTP, decoder, normalizer, gzip,
queue, the protocol's answer), for one or more builds side by side. Independent of the
machine's load, unlike proto_bench.py's CPU time; user-space instructions only (the
kernel's share, e.g. receiving the body, is not counted).

    python3 bench/proto_daemon_instr.py [--only native,hec,...] [BUILD_DIR ...]

For each build and protocol, `cloudlog serve --no-processor` runs under callgrind twice:
once posting SMALL bodies, once LARGE bodies (bench/proto_encode.js's, 1,000 records
each, one request at a time, each answered 2xx after its commit); the difference of the
two runs' totals divided by the records of the extra bodies is the cost per record
without start-up and shutdown. Needs valgrind, node (tests/clients/node_modules) and
BUILD_DIR/libexec/cloudlog/cloudlog (or BUILD_DIR/cloudlog before the front). Every daemon started here is stopped before the next.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from proto_bench import HTTP  # noqa: E402  (protocol -> path, Content-Type)



def daemon_binary(build):
    """The full binary: BUILD/cloudlog is a lean front that execs it for serve, and
    callgrind (without --trace-children) would measure only the front."""
    full = os.path.join(build, "libexec", "cloudlog", "cloudlog")
    return full if os.path.exists(full) else os.path.join(build, "cloudlog")

def post_all(port, proto, body_dir, n):
    path, ctype = HTTP[proto]
    for name in sorted(os.listdir(body_dir))[:n]:
        with open(os.path.join(body_dir, name), "rb") as f:
            req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=f.read(),
                                         method="POST", headers={"Content-Type": ctype})
        with urllib.request.urlopen(req, timeout=600) as resp:
            if resp.status // 100 != 2:
                raise SystemExit("%s: status %d" % (proto, resp.status))


def total_instructions(build, proto, body_dir, n, tmp):
    data, log, out = (os.path.join(tmp, x) for x in ("data", "log", "cg.out"))
    shutil.rmtree(data, ignore_errors=True)
    with open(log, "wb") as lf:
        p = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                              daemon_binary(build), "serve", "--listen", "127.0.0.1:0",
                              "--data", data, "--no-processor"], stdout=lf, stderr=lf)
    try:
        port = None
        for _ in range(600):  # bounded: 120 s for the start under valgrind
            with open(log, "rb") as f:
                m = re.search(rb"listening on http://127\.0\.0\.1:(\d+)", f.read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.2)
        if port is None:
            raise SystemExit("cloudlog did not start under valgrind (see %s)" % log)
        post_all(port, proto, body_dir, n)
    finally:
        p.terminate()
        try:
            p.wait(timeout=300)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    ann = subprocess.run(["callgrind_annotate", out], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, check=True, timeout=600).stdout.decode()
    m = re.search(r"([\d,]+)\s+\(100\.0%\)\s+PROGRAM TOTALS", ann)
    os.unlink(out)
    return int(m.group(1).replace(",", ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", type=int, default=2, help="bodies of the first run")
    ap.add_argument("--large", type=int, default=8, help="bodies of the second run")
    ap.add_argument("--only", default="native,hec,msgpack,loki_json,es_bulk,loki_pb")
    ap.add_argument("builds", nargs="*", default=[os.path.join(ROOT, "build-release")])
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="cloudlog-proto-daemon-instr-")
    try:
        bodies = os.path.join(tmp, "bodies")
        subprocess.run(["node", os.path.join(HERE, "proto_encode.js"), bodies, str(a.large),
                        "1000"], check=True, timeout=600, stdout=subprocess.DEVNULL)
        records = (a.large - a.small) * 1000
        print("daemon instructions per record (callgrind, user space), %d records" % records)
        print("%-10s %-44s %12s %10s" % ("protocol", "build", "per record", "vs native"))
        native = {}
        for proto in [p for p in a.only.split(",") if p]:
            for b in a.builds:
                d = os.path.join(bodies, proto)
                per = (total_instructions(b, proto, d, a.large, tmp) -
                       total_instructions(b, proto, d, a.small, tmp)) / records
                if proto == "native":
                    native[b] = per
                vs = "%.2fx" % (per / native[b]) if native.get(b) else "-"
                print("%-10s %-44s %12.0f %10s" % (proto, b[-44:], per, vs), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
