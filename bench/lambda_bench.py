"""lambda_bench.py - figures for issue 10's Lambda benchmark (run by bench/run_lambda.sh).

  cold start   process start -> first GET /next on a loopback Runtime API (median of N);
               the ingestor with the template's queue URL (?max_message_size=) and bare
  per batch    for the largest SQS event (records near 1 MiB each, event under 6 MB) and
               for 10 x 256 KiB: log_processor invoke -> response (file: store, so the
               figure is the function's own work, not S3's), its peak RSS (VmHWM), the
               same work by cl_batch_process and by the embedded processor in-process
               (bench_lambda_batch), and a Python 3 stdlib equivalent
               (lambda_py_processor.py) timed on the same events.

Usage: lambda_bench.py BUILD_DIR WORK_DIR [COLD_RUNS [PKG_DIR]]
(PKG_DIR: log_ingestor and log_processor as packaged, whose cold starts are measured too)
"""

import base64
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
import lambda_runtime  # noqa: E402
import lambda_py_processor  # noqa: E402

SQS_MAX = 1024 * 1024
EVENT_MAX = 6 * 1000 * 1000  # Lambda's synchronous payload limit (6 MB)
SERVICES = ["api", "web", "billing", "worker"]
WORDS = ("request handled user order payment timeout retry cache miss hit db query slow "
         "upstream connection reset accepted rejected").split()


def norm_line(rng, ts_ms, i):
    t = time.gmtime(ts_ms // 1000)
    ts = time.strftime("%Y-%m-%dT%H:%M:%S", t) + ".%03dZ" % (ts_ms % 1000)
    msg = " ".join(rng.choice(WORDS) for _ in range(8))
    return ('{"timestamp":"%s","level":"%s","service":"%s","message":"%s %d",'
            '"request_id":"%016x","latency_ms":%d,"path":"/v1/items/%d"}' % (
                ts, rng.choice(["info", "info", "warn", "error"]), rng.choice(SERVICES), msg,
                i, rng.getrandbits(64), rng.randrange(1, 5000), rng.randrange(100000)))


def message(rng, target_b64, base_ms):
    """Normalized lines whose gzip+base64 body is just under target_b64 characters."""
    lines, chunk = [], 2000
    while True:
        more = [norm_line(rng, base_ms + rng.randrange(2 * 3600 * 1000), len(lines) + j)
                for j in range(chunk)]
        raw = ("\n".join(lines + more) + "\n").encode()
        if len(base64.b64encode(gzip.compress(raw, 1))) > target_b64:
            if chunk == 1:
                break
            chunk = max(1, chunk // 4)
            continue
        lines += more
    raw = ("\n".join(lines) + "\n").encode()
    return lines, gzip.compress(raw, 1)


def sqs_event(msgs):
    recs = []
    for i, (lines, gz) in enumerate(msgs):
        ts = [int(time.mktime(time.strptime(l[14:33], "%Y-%m-%dT%H:%M:%S"))) for l in
              (lines[0], lines[-1])]
        attrs = {"count": len(lines), "raw_bytes": sum(len(l) + 1 for l in lines),
                 "min_ts_ms": min(ts) * 1000, "max_ts_ms": max(ts) * 1000 + 999}
        ma = {k: {"stringValue": str(v), "dataType": "Number"} for k, v in attrs.items()}
        ma["encoding"] = {"stringValue": "gzip", "dataType": "String"}
        recs.append({"messageId": "msg-%03d" % i, "receiptHandle": "rh-%d" % i,
                     "body": base64.b64encode(gz).decode(),
                     "attributes": {"ApproximateReceiveCount": "1",
                                    "SentTimestamp": str(int(time.time() * 1000))},
                     "messageAttributes": ma, "eventSource": "aws:sqs"})
    return {"Records": recs}


def write_msgs(msgs, event, d):
    os.makedirs(d, exist_ok=True)
    for i, ((lines, gz), rec) in enumerate(zip(msgs, event["Records"])):
        with open(os.path.join(d, "%03d.gz" % i), "wb") as f:
            f.write(gz)
        a = rec["messageAttributes"]
        with open(os.path.join(d, "%03d.attrs" % i), "w") as f:
            f.write("%s %s %s %s\n" % tuple(a[k]["stringValue"] for k in
                                             ("count", "raw_bytes", "min_ts_ms", "max_ts_ms")))


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def spawn(path, rt, env):
    e = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CLOUDLOG_"))}
    e.update(env, AWS_LAMBDA_RUNTIME_API=rt.address, AWS_REGION="us-east-1")
    return subprocess.Popen([path], env=e, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def cold_start(path, env, runs):
    times = []
    for _ in range(runs):
        rt = lambda_runtime.RuntimeAPI()
        t0 = time.monotonic()
        p = spawn(path, rt, env)
        try:
            if not rt.next_waiting.wait(10):
                raise RuntimeError("%s never asked for an event" % path)
            times.append((rt.next_requests[0] - t0) * 1000)
        finally:
            p.kill()
            p.wait(timeout=10)
            rt.close()
    return statistics.median(times), min(times), max(times)


def time_processor(path, event, store, repeat):
    rt = lambda_runtime.RuntimeAPI()
    p = spawn(path, rt, {"CLOUDLOG_STORE": "file:" + store})
    try:
        data = json.dumps(event).encode()
        times = []
        for _ in range(repeat):
            t0 = time.monotonic()
            kind, body, _ = rt.result(rt.invoke(data, timeout_s=300), timeout=300)
            times.append((time.monotonic() - t0) * 1000)
            if kind != "response" or json.loads(body)["batchItemFailures"]:
                raise RuntimeError("log_processor failed: %s" % body[:300])
        return statistics.median(times), vm_hwm_kib(p.pid)
    finally:
        p.kill()
        p.wait(timeout=10)
        rt.close()


def time_python(event, store, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        out = lambda_py_processor.handler(event, store)
        times.append((time.process_time() - t0) * 1000)
        assert not out["batchItemFailures"]
    return statistics.median(times)


def cold_starts(proc, ing, work, cold_runs):
    med, lo, hi = cold_start(proc, {"CLOUDLOG_STORE": "file:" + os.path.join(work, "cold")},
                             cold_runs)
    print("  log_processor  median %.2f ms (min %.2f, max %.2f)" % (med, lo, hi))
    query = os.path.join(os.path.dirname(proc), "log_query")
    if os.path.exists(query):
        med, lo, hi = cold_start(query, {"CLOUDLOG_STORE": "file:" + os.path.join(work, "cold"),
                                         "CLOUDLOG_API_KEYS": "bench"}, cold_runs)
        print("  log_query      median %.2f ms (min %.2f, max %.2f)" % (med, lo, hi))
    qurl = os.environ.get("LAMBDA_BENCH_QUEUE_URL")
    # As the SAM template configures it (the queue's size in the URL: no SQS call at init),
    # and with the bare queue URL (init asks SQS for MaximumMessageSize).
    for label, url in (("log_ingestor  ", qurl and qurl + "?max_message_size=1048576"),
                       ("  bare URL    ", qurl)):
        if not url:
            continue
        med, lo, hi = cold_start(ing, {"CLOUDLOG_QUEUE_URL": url, "CLOUDLOG_API_KEYS": "bench",
                                       "AWS_ACCESS_KEY_ID": "testing",
                                       "AWS_SECRET_ACCESS_KEY": "testing"}, cold_runs)
        print("  %s median %.2f ms (min %.2f, max %.2f)" % (label, med, lo, hi))


def main():
    build, work = sys.argv[1], sys.argv[2]
    cold_runs = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    os.makedirs(work, exist_ok=True)
    rng = random.Random(10)
    base_ms = (int(time.time()) // 3600 - 2) * 3600 * 1000
    # Largest: as many ~1 MiB records as fit a 6 MB event (the body and the attributes
    # count toward SQS's 1 MiB; 1,000,000 base64 characters leave room for both).
    big = [message(rng, 1000000, base_ms) for _ in range(5)]
    mid = [message(rng, 256 * 1024 - 2048, base_ms) for _ in range(10)]
    proc = os.path.join(build, "log_processor")
    ing = os.path.join(build, "log_ingestor")
    print("cold start (process start -> first GET /next), %d runs, %s:" % (cold_runs, build))
    cold_starts(proc, ing, work, cold_runs)
    # The packaged functions (scripts/lambda.sh: static but for glibc, what Lambda runs).
    pkg = sys.argv[4] if len(sys.argv) > 4 else ""
    if pkg:
        print("cold start, packaged bootstraps (%s):" % pkg)
        cold_starts(os.path.join(pkg, "log_processor"), os.path.join(pkg, "log_ingestor"), work,
                    cold_runs)
    for name, msgs in (("largest event", big), ("10 x 256 KiB", mid)):
        event = sqs_event(msgs)
        size = len(json.dumps(event))
        assert size < EVENT_MAX and all(len(r["body"]) < SQS_MAX for r in event["Records"])
        records = sum(len(l) for l, _ in msgs)
        raw = sum(sum(len(x) + 1 for x in l) for l, _ in msgs)
        tag = name.split()[0]
        print("%s: %d records in %d messages, event %.2f MB, %.1f MiB of NDJSON" % (
            name, records, len(msgs), size / 1e6, raw / 2**20))
        ms, hwm = time_processor(proc, event, os.path.join(work, "lambda-" + tag), 5)
        print("  log_processor invoke->response  %8.1f ms   peak RSS %.1f MiB" % (
            ms, hwm / 1024))
        d = os.path.join(work, "msgs-" + tag)
        write_msgs(msgs, event, d)
        out = subprocess.run([os.path.join(build, "bench", "bench_lambda_batch"), d,
                              os.path.join(work, "inproc-" + tag), "5"],
                             capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            kind, rest = line.split(" ", 1)
            print("  %-31s %s" % ("in-process " + kind, rest))
        py = time_python(event, os.path.join(work, "python-" + tag), 3)
        print("  python3 stdlib equivalent (CPU) %8.1f ms   (%s)" % (py, sys.version.split()[0]))


if __name__ == "__main__":
    main()
