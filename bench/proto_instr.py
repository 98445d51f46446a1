#!/usr/bin/env python3
"""proto_instr.py - instructions per record of each shipper protocol's decoder and whole
ingest parse, counted by callgrind (independent of the machine's load), for one or more
builds side by side (an A/B: main's build against a branch's).

    python3 bench/proto_instr.py [--bodies 8] [--records 1000] [BUILD_DIR ...]

BUILD_DIR defaults to build-release; each needs bench/bench_proto_decode. The bodies are
bench/proto_encode.js's (the same seeded records per protocol, encoded with the real
client libraries). bench_proto_decode runs one round under callgrind; the inclusive
instruction counts of its decode_only (decoder alone, records to a counting sink) and
full_parse (decoder + normalizer + gzip packing, what an ingest worker runs) are divided
by the records. Needs valgrind and node (tests/clients/node_modules).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# protocol -> (bench_proto_decode route, Content-Type)
PROTOCOLS = {
    "native": ("logs", "application/x-ndjson"),
    "otlp_pb": ("logs", "application/x-protobuf"),
    "loki_pb": ("loki", "application/x-protobuf"),
    "msgpack": ("logs", "application/msgpack"),
    "otlp_json": ("logs", "application/json"),
    "loki_json": ("loki", "application/json"),
    "es_bulk": ("es", "application/x-ndjson"),
    "hec": ("hec", "application/json"),
    "json_stream": ("logs", "application/json"),
}


def inclusive(cg_out, name):
    """Inclusive instructions of the first function whose name starts with name."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", cg_out],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True,
                         timeout=600).stdout.decode()
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) .*:%s[.\w]*( |$)" % re.escape(name), line)
        if m:
            return int(m.group(1).replace(",", ""))
    return 0


def measure(build, proto, body_dir, tmp, records):
    route, ctype = PROTOCOLS[proto]
    cg = os.path.join(tmp, "cg.out")
    subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + cg,
                    os.path.join(build, "bench", "bench_proto_decode"), route, ctype, body_dir,
                    "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
                   timeout=1800)
    dec, full = inclusive(cg, "decode_only"), inclusive(cg, "full_parse")
    os.unlink(cg)
    return dec / records, full / records


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bodies", type=int, default=8)
    ap.add_argument("--records", type=int, default=1000, help="records per body")
    ap.add_argument("--only", default=",".join(PROTOCOLS))
    ap.add_argument("builds", nargs="*", default=[os.path.join(ROOT, "build-release")])
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="cloudlog-proto-instr-")
    try:
        bodies = os.path.join(tmp, "bodies")
        subprocess.run(["node", os.path.join(HERE, "proto_encode.js"), bodies, str(a.bodies),
                        str(a.records)], check=True, timeout=600, stdout=subprocess.DEVNULL)
        n = a.bodies * a.records
        print("instructions per record (callgrind), %d records per protocol" % n)
        print("%-10s %-44s %12s %12s %10s" % ("protocol", "build", "decoder", "whole parse",
                                              "vs native"))
        native = {}
        for proto in [p for p in a.only.split(",") if p]:
            for b in a.builds:
                dec, full = measure(b, proto, os.path.join(bodies, proto), tmp, n)
                if proto == "native":
                    native[b] = full
                vs = "%.2fx" % (full / native[b]) if native.get(b) else "-"
                print("%-10s %-44s %12.0f %12.0f %10s" % (proto, b[-44:], dec, full, vs))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
