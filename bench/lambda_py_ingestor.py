"""lambda_py_ingestor.py - the log_ingestor's CPU work written the way a Python 3 Lambda
would do it with the standard library only, for the cost comparison of issue 10: parse an
NDJSON body, normalize each record as the contract says (timestamp to RFC 3339 UTC with
milliseconds, level aliases, service check, key order), pack the lines into a gzip
(level 1) message and base64 it for SQS. Prints records per CPU-second, comparable with
`bench_ingest_parse` (the C stage, same record shape: bench/common/gen.c).

Usage: python3 bench/lambda_py_ingestor.py [RECORDS=200000] [PER_REQUEST=100]
"""

import base64
import datetime
import gzip
import json
import random
import re
import sys
import time

LEVELS = {"trace": "trace", "debug": "debug", "info": "info", "information": "info",
          "notice": "info", "warn": "warn", "warning": "warn", "error": "error",
          "err": "error", "fatal": "fatal", "critical": "fatal", "crit": "fatal"}
SERVICE_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SERVICES = ["api", "web", "billing", "auth", "search", "checkout", "worker", "cron"]
WORDS = ("request handled user order payment timeout retry cache miss hit db query slow "
         "upstream connection reset accepted rejected").split()


def gen_line(rng, i):
    ts = datetime.datetime(2026, 11, 25, 12, tzinfo=datetime.timezone.utc) + \
        datetime.timedelta(milliseconds=i * 7)
    return json.dumps({"timestamp": ts.isoformat().replace("+00:00", "Z"),
                       "level": rng.choice(["info", "INFO", "warning", "error", "debug"]),
                       "service": rng.choice(SERVICES), "host": "ip-10-0-%d-%d" % (i % 7, i % 250),
                       "trace_id": "%032x" % rng.getrandbits(128),
                       "message": " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 14))),
                       "latency_ms": rng.randint(1, 5000), "bytes": rng.randint(100, 100000)})


def normalize(line):
    rec = json.loads(line)
    if not isinstance(rec, dict):
        raise ValueError("not an object")
    ts = rec.pop("timestamp", None) or rec.pop("time", None) or rec.pop("ts", None)
    t = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(
        datetime.timezone.utc)
    level = LEVELS[str(rec.pop("level", "info")).lower()]
    service = rec.pop("service", "default")
    if not SERVICE_RE.match(service):
        raise ValueError("bad service")
    message = rec.pop("message", "")
    out = {"timestamp": t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000),
           "level": level, "service": service, "message": message}
    out.update(rec)
    return json.dumps(out, separators=(",", ":"))


def handle(body):
    lines = [normalize(l) for l in body.splitlines() if l.strip()]
    raw = ("\n".join(lines) + "\n").encode()
    return base64.b64encode(gzip.compress(raw, compresslevel=1)), len(lines)


def main():
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
    per = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    rng = random.Random(1)
    lines = [gen_line(rng, i) for i in range(total)]
    bodies = ["\n".join(lines[i:i + per]) + "\n" for i in range(0, total, per)]
    nbytes = sum(len(b) for b in bodies)
    t0 = time.process_time()
    n = 0
    for b in bodies:
        n += handle(b)[1]
    cpu = time.process_time() - t0
    print("python3 %s ingest (normalize + gzip 1 + base64): %d records in bodies of %d, "
          "%.0f records/s, %.1f MB/s per CPU-second"
          % (sys.version.split()[0], n, per, n / cpu, nbytes / cpu / 1e6))


if __name__ == "__main__":
    main()
