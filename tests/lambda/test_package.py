#!/usr/bin/env python3
"""Packaging test of the Lambda zips of one architecture (docs/lambda.md, "Packaging").

For dist/log_ingestor-ARCH.zip, dist/log_processor-ARCH.zip and dist/log_query-ARCH.zip
(scripts/lambda.sh):
  1. the zip holds exactly one regular file, `bootstrap`, mode 0755;
  2. elfcheck.py: right machine, only glibc libraries NEEDED, no symbol version newer than
     GLIBC_2.34 (what Amazon Linux 2023 has);
  3. the bootstrap runs in a hand-built root file system holding nothing but the dynamic
     loader, glibc's libraries it needs (libc.so.6, libm.so.6) and the bootstrap itself:
     x86_64 under chroot, arm64 under qemu-aarch64-static (inside the same chroot, so the
     host's arm64 libraries cannot stand in; outside CI without chroot rights, with
     `qemu-aarch64-static -L ROOTFS` and a warning). Against the loopback Runtime API of
     the e2e tests (tests/e2e/lambda_runtime.py) it must
       a. post an init error naming the missing required variable and exit non-zero
          (both functions);
       b. (log_ingestor, valid configuration) answer an API Gateway HTTP API 2.0 event
          whose body is not JSON with a 400 response, and a snappy-compressed protobuf
          Loki push (winston-loki's) with 204 (libsnappy is linked statically). Its queue is the SQLite backend
          (linked into the function as well), a file inside the root file system, so
          this needs no AWS;
       c. carry records all the way over moto (tests/e2e/awstest.py): log_ingestor
          answers 202 and sends them to an SQS queue (signatures verified), the message
          received from it goes to log_processor as an SQS event, which answers with no
          batchItemFailures and writes a gzip NDJSON object holding the records to S3;
          log_query (PCRE2 linked statically) then answers Grafana's requests over that
          S3 store: the health check, a query_range with a regex line filter that finds
          the records, and a metric query.

Usage: test_package.py ARCH WORKDIR   (exit 77 = skipped: a tool or chroot right is missing
and CI is not set; under CI=true that is a failure)
"""
import base64
import gzip
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import urllib.parse
import zipfile

import elfcheck

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import awstest  # noqa: E402  (moto in server mode)
import lambda_runtime  # noqa: E402  (loopback Runtime API)

FUNCTIONS = ("log_ingestor", "log_processor", "log_query")
# A Loki push the real winston-loki sent (snappy-compressed protobuf), kept as a fuzz seed.
LOKI_SEED = os.path.join(ROOT, "tests", "fuzz", "corpus", "fuzz_proto_loki_pb", "winston_three_entries")
# The glibc that the root file systems get: this system's for x86_64, Debian's arm64
# cross libc (package libc6-arm64-cross) for arm64.
GLIBC_DIRS = {"x86_64": "/lib/x86_64-linux-gnu", "arm64": "/usr/aarch64-linux-gnu/lib"}
QEMU = "qemu-aarch64-static"
START_TIMEOUT_S = 120  # generous: qemu on a loaded 2-core CI machine
EXIT_TIMEOUT_S = 60

failures = []


def check(ok, what):
    print(f"{'ok' if ok else 'FAIL'}: {what}")
    if not ok:
        failures.append(what)
    return ok


def skip_or_fail(message):
    print(f"SKIP: {message}")
    return 1 if os.environ.get("CI") == "true" else 77


def read_bootstrap(zip_path):
    """Checks the zip's layout; returns the bootstrap's bytes (None when unusable)."""
    with zipfile.ZipFile(zip_path) as z:
        infos = z.infolist()
        names = [i.filename for i in infos]
        if not check(names == ["bootstrap"], f"{zip_path} holds only 'bootstrap' ({names})"):
            return None
        mode = infos[0].external_attr >> 16
        check(stat.S_ISREG(mode), f"{zip_path}: bootstrap is a regular file")
        check(stat.S_IMODE(mode) == 0o755, f"{zip_path}: bootstrap mode {oct(stat.S_IMODE(mode))} is 0o755")
        return z.read("bootstrap")


def build_rootfs(arch, rootfs, bootstrap):
    """A root file system with only the loader, the glibc libraries among those the
    bootstrap needs, and the bootstrap; returns the bootstrap's path in it."""
    shutil.rmtree(rootfs, ignore_errors=True)
    exe = os.path.join(rootfs, "bootstrap")
    os.makedirs(os.path.join(rootfs, "lib"))
    with open(exe, "wb") as f:
        f.write(bootstrap)
    os.chmod(exe, 0o755)
    interp = elfcheck.interpreter(exe)
    os.makedirs(os.path.dirname(rootfs + interp), exist_ok=True)
    shutil.copy(os.path.join(GLIBC_DIRS[arch], os.path.basename(interp)), rootfs + interp)
    # /lib is in the search path of both architectures' loaders (ld.so --help). Only
    # glibc's own libraries go in: whatever else the bootstrap needs stays missing.
    for lib in elfcheck.needed_libs(exe):
        if lib in elfcheck.GLIBC_LIBS:
            shutil.copy(os.path.join(GLIBC_DIRS[arch], lib), os.path.join(rootfs, "lib", lib))
    return exe


def chroot_allowed(rootfs):
    probe = subprocess.run([sys.executable, "-c", f"import os; os.chroot({rootfs!r})"], capture_output=True)
    return probe.returncode == 0


def run_command(arch, rootfs, use_chroot):
    """argv that starts the bootstrap inside rootfs (absolute tool paths: the bootstrap's
    environment has no PATH)."""
    chroot, qemu = shutil.which("chroot"), shutil.which(QEMU)
    if arch == "x86_64":
        return [chroot, rootfs, "/bootstrap"]
    if use_chroot:
        shutil.copy(qemu, os.path.join(rootfs, QEMU))
        return [chroot, rootfs, "/" + QEMU, "/bootstrap"]
    return [qemu, "-L", rootfs, os.path.join(rootfs, "bootstrap")]


class Bootstrap:
    """One bootstrap process in its own process group; killed on exit."""

    def __init__(self, argv, rootfs, env, log_prefix):
        self.out = open(log_prefix + ".stdout", "wb")
        self.err = open(log_prefix + ".stderr", "wb")
        self.log_prefix = log_prefix
        self.proc = subprocess.Popen(
            argv, cwd=rootfs, env=env, stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.err, start_new_session=True
        )

    def wait_exit(self, timeout_s):
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def stderr_tail(self):
        self.err.flush()
        with open(self.log_prefix + ".stderr", "rb") as f:
            return f.read()[-2000:].decode(errors="replace")

    def close(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=EXIT_TIMEOUT_S)
        self.out.close()
        self.err.close()


def base_env(rt, **extra):
    """What Lambda itself would set (fake credentials unless extra has moto's), plus extra."""
    env = {
        "AWS_LAMBDA_RUNTIME_API": rt.address,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDPACKAGINGTEST",
        "AWS_SECRET_ACCESS_KEY": "packaging-test-secret",
        "LAMBDA_TASK_ROOT": "/",
    }
    env.update(extra)
    return env


def wait_init_error(rt, proc):
    """The first init error's JSON body, or None when the process exited without one (or
    START_TIMEOUT_S passed). The stub records an error before answering it, and the runtime
    exits only after the answer, so an exited process has posted all it will."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline and not rt.init_errors and proc.proc.poll() is None:
        time.sleep(0.1)
    if not rt.init_errors:
        return None
    try:
        return json.loads(rt.init_errors[0][1])
    except ValueError:
        return {"errorMessage": rt.init_errors[0][1].decode(errors="replace")}


def answer_of(rt, request_id, proc):
    """(kind, parsed JSON body) of an invocation's answer; (None, None) when the process
    died without one or START_TIMEOUT_S passed."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            kind, body, _ = rt.result(request_id, timeout=0.5)
            break
        except TimeoutError:
            if proc.proc.poll() is not None or time.monotonic() > deadline:
                return None, None
    try:
        return kind, json.loads(body) if body else None
    except ValueError:
        return kind, body


def expect_init_error(fn, argv, rootfs, workdir, missing_var):
    """Case a: without its required variable the function reports an init error, exits."""
    rt = lambda_runtime.RuntimeAPI()
    proc = Bootstrap(argv, rootfs, base_env(rt), os.path.join(workdir, f"{fn}-init-error"))
    try:
        error = wait_init_error(rt, proc)
        status = proc.wait_exit(EXIT_TIMEOUT_S)
        ok = check(
            error is not None and missing_var in error.get("errorMessage", ""),
            f"{fn}: init error names {missing_var} (got {error})",
        )
        ok &= check(status not in (None, 0), f"{fn}: exits non-zero after the init error (status {status})")
        if not ok:
            print(proc.stderr_tail())
    finally:
        stop(rt, proc)


def http_api_event(body, path="/v1/logs", content_type="application/x-ndjson"):
    """An API Gateway HTTP API payload format 2.0 event for POST PATH (AWS's example
    shape, trimmed to the fields a function reads)."""
    now_ms = int(time.time() * 1000)
    return {
        "version": "2.0",
        "routeKey": "POST " + path,
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"content-type": content_type, "user-agent": "packaging-test"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api-id",
            "domainName": "id.execute-api.us-east-1.amazonaws.com",
            "http": {
                "method": "POST",
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "packaging-test",
            },
            "requestId": "packaging-test-request",
            "routeKey": "POST " + path,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now_ms / 1000)),
            "timeEpoch": now_ms,
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


def expect_bad_body_400(argv, rootfs, workdir, queue_env):
    """Case b: a configured log_ingestor answers a non-JSON body with 400. queue_env: an SQS
    queue on moto (the functions link no other queue backend)."""
    rt = lambda_runtime.RuntimeAPI()
    env = base_env(rt, **queue_env, CLOUDLOG_AUTH="none")
    proc = Bootstrap(argv, rootfs, env, os.path.join(workdir, "log_ingestor-bad-body"))
    try:
        kind, answer = answer_of(rt, rt.invoke(http_api_event(b"this is not JSON\n")), proc)
        answer = answer if isinstance(answer, dict) else {}
        ok = check(kind == "response", f"log_ingestor: posts a response for the event (got {kind}: {answer})")
        ok &= check(answer.get("statusCode") == 400, f"log_ingestor: statusCode 400 (got {answer.get('statusCode')})")
        ok &= check(proc.proc.poll() is None, "log_ingestor: still running, waiting for the next event")
        if not ok:
            print(proc.stderr_tail())
    finally:
        stop(rt, proc)


def expect_loki_snappy_204(argv, rootfs, workdir, queue_env):
    """Case d: the static log_ingestor has libsnappy: a snappy-compressed protobuf Loki push
    that the real winston-loki sent (a fuzz seed) is answered 204, not 415."""
    with open(LOKI_SEED, "rb") as f:
        body = f.read()
    env = dict(queue_env, CLOUDLOG_AUTH="none", CLOUDLOG_MAX_RECORD_AGE="0",
               CLOUDLOG_MAX_RECORD_FUTURE="0")
    kind, answer = invoke_once(argv, rootfs, env, os.path.join(workdir, "log_ingestor-loki"),
                               http_api_event(body, "/loki/api/v1/push", "application/x-protobuf"))
    answer = answer if isinstance(answer, dict) else {}
    check(kind == "response" and answer.get("statusCode") == 204,
          f"log_ingestor: snappy Loki push answered 204 (got {kind}: {answer})")


def sqs_event(messages):
    """The SQS -> Lambda event for messages as boto3's receive_message returns them."""

    def attribute(value):
        return {"stringValue": value["StringValue"], "stringListValues": [], "binaryListValues": [],
                "dataType": value["DataType"]}

    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
                "messageAttributes": {k: attribute(v) for k, v in m.get("MessageAttributes", {}).items()},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:cl-packaging",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def invoke_once(argv, rootfs, env, log_prefix, event):
    """Starts a bootstrap against its own Runtime API, hands it one event, returns
    (kind, answer); stops both after."""
    rt = lambda_runtime.RuntimeAPI()
    proc = Bootstrap(argv, rootfs, base_env(rt, **env), log_prefix)
    try:
        kind, answer = answer_of(rt, rt.invoke(event), proc)
        if kind != "response":
            print(proc.stderr_tail())
        return kind, answer
    finally:
        stop(rt, proc)


def stop(rt, proc):
    """Closes the Runtime API (its pending /next answers 500, on which the runtime exits by
    itself, as on Lambda), then kills whatever is still running."""
    rt.close()
    proc.wait_exit(EXIT_TIMEOUT_S)
    proc.close()


def expect_full_ingest(argv, rootfs, workdir):
    """Case c: records posted to log_ingestor come out of log_processor in an S3 object."""
    # moto checks S3 signatures against a re-quoted path and so rejects our partition keys
    # ('=' in them; tests/e2e/awstest.py), so S3 is a second moto without verification.
    sqs_moto, s3_moto = awstest.Moto(verify=True), awstest.Moto(verify=False)
    try:
        sqs_moto.start()
        s3_moto.start()
        sqs = sqs_moto.client("sqs")
        queue_url = sqs.create_queue(QueueName="cl-packaging")["QueueUrl"]
        s3_moto.client("s3").create_bucket(Bucket="cl-packaging")
        messages = [f"packaging test record {i}" for i in range(3)]
        body = "".join(json.dumps({"service": "pkgtest", "message": m}) + "\n" for m in messages)

        env = dict(sqs_moto.env(), CLOUDLOG_QUEUE_URL=queue_url, AWS_ENDPOINT_URL_SQS=sqs_moto.url,
                   CLOUDLOG_AUTH="none")
        log = os.path.join(workdir, "log_ingestor-moto")
        kind, answer = invoke_once(argv["log_ingestor"], rootfs["log_ingestor"], env, log,
                                   http_api_event(body.encode()))
        if not check(kind == "response" and isinstance(answer, dict) and answer.get("statusCode") == 202,
                     f"log_ingestor over moto SQS: statusCode 202 (got {kind}: {answer})"):
            return
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                       MessageAttributeNames=["All"]).get("Messages", [])
        if not check(len(received) >= 1, f"the queue holds the ingested batch ({len(received)} messages)"):
            return

        env = dict(s3_moto.env(), CLOUDLOG_STORE="s3://cl-packaging/logs", AWS_ENDPOINT_URL_S3=s3_moto.url)
        log = os.path.join(workdir, "log_processor-moto")
        kind, answer = invoke_once(argv["log_processor"], rootfs["log_processor"], env, log,
                                   sqs_event(received))
        check(kind == "response" and isinstance(answer, dict) and answer.get("batchItemFailures") == [],
              f"log_processor: no batchItemFailures (got {kind}: {answer})")
        s3 = s3_moto.client("s3")
        # The processor's pattern summaries (logs/_analytics/, docs/analytics.md) are not data.
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="cl-packaging").get("Contents", [])
                if not o["Key"].startswith("logs/_analytics/")]
        stored = b"".join(gzip.decompress(s3.get_object(Bucket="cl-packaging", Key=k)["Body"].read())
                          for k in keys)
        lines = [json.loads(line) for line in stored.splitlines()]
        check(all(k.startswith("logs/service=pkgtest/") for k in keys) and keys,
              f"objects under logs/service=pkgtest/ ({keys})")
        check(sorted(r["message"] for r in lines) == messages, f"the objects hold the 3 records ({len(lines)} lines)")
        expect_query(argv["log_query"], rootfs["log_query"], workdir, s3_moto, messages)
    finally:
        sqs_moto.stop()
        s3_moto.stop()


def loki_event(path, query):
    """Grafana's GET of a Loki read path, as API Gateway hands it to log_query."""
    event = http_api_event(b"", path)
    event["requestContext"]["http"]["method"] = "GET"
    event["routeKey"] = event["requestContext"]["routeKey"] = "GET /loki/api/v1/{proxy+}"
    event["rawQueryString"] = urllib.parse.urlencode(query)
    return event


def expect_query(argv, rootfs, workdir, s3_moto, messages):
    """Case c, continued: log_query reads the objects log_processor wrote."""
    env = dict(s3_moto.env(), CLOUDLOG_STORE="s3://cl-packaging/logs", AWS_ENDPOINT_URL_S3=s3_moto.url,
               CLOUDLOG_AUTH="none")
    now_ns = int(time.time() * 1e9)
    span = {"start": str(now_ns - 3600 * 10**9), "end": str(now_ns + 60 * 10**9)}
    cases = [
        ("health check", "/loki/api/v1/query", {"query": "vector(1)+vector(1)"},
         lambda d: d["result"][0]["value"][1] == "2"),
        ("regex line filter", "/loki/api/v1/query_range",
         dict(span, query='{service="pkgtest"} |~ "test rec[o]rd [0-9]"', limit="10"),
         lambda d: sorted(json.loads(v[1])["message"] for s in d["result"] for v in s["values"]) == messages),
        ("metric query", "/loki/api/v1/query",
         dict(query='sum by (service) (count_over_time({service="pkgtest"}[2h]))', time=span["end"]),
         lambda d: d["result"][0]["value"][1] == str(len(messages))),
    ]
    for what, path, query, ok in cases:
        kind, answer = invoke_once(argv, rootfs, env, os.path.join(workdir, "log_query-moto"),
                                   loki_event(path, query))
        answer = answer if isinstance(answer, dict) else {}
        try:
            data = json.loads(answer.get("body", "")).get("data", {})
            good = answer.get("statusCode") == 200 and ok(data)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            good = False
        check(kind == "response" and good, f"log_query: {what} over the S3 store (got {kind}: {str(answer)[:300]})")


def expect_ingestor_cases(argv, rootfs, workdir):
    """Cases b and d against an SQS queue on moto: the ingestor links only the SQS backend."""
    sqs_moto = awstest.Moto(verify=True)
    try:
        sqs_moto.start()
        url = sqs_moto.client("sqs").create_queue(QueueName="cl-packaging-cases")["QueueUrl"]
        queue_env = dict(sqs_moto.env(), CLOUDLOG_QUEUE_URL=url, AWS_ENDPOINT_URL_SQS=sqs_moto.url)
        expect_bad_body_400(argv, rootfs, workdir, queue_env)
        expect_loki_snappy_204(argv, rootfs, workdir, queue_env)
    finally:
        sqs_moto.stop()


def unpack_zips(arch, dist, workdir):
    """Checks both zips and builds each bootstrap's root file system; returns
    {function: rootfs}, missing the functions whose zip is unusable."""
    rootfs = {}
    for fn in FUNCTIONS:
        zip_path = os.path.join(dist, f"{fn}-{arch}.zip")
        if not check(os.path.isfile(zip_path), f"{zip_path} exists (scripts/lambda.sh {arch})"):
            continue
        bootstrap = read_bootstrap(zip_path)
        if bootstrap is None:
            continue
        rootfs[fn] = os.path.join(workdir, f"rootfs-{fn}")
        exe = build_rootfs(arch, rootfs[fn], bootstrap)
        problems = elfcheck.problems(arch, exe)
        check(not problems, f"{fn}-{arch}: needs only glibc <= 2.34 {problems or ''}")
        print(
            f"{fn}-{arch}: bootstrap {len(bootstrap)} bytes, newest import {elfcheck.newest_glibc(arch, exe)}, "
            f"NEEDED {elfcheck.needed_libs(exe)}, rootfs: {sorted(list_files(rootfs[fn]))}"
        )
    return rootfs


def run_cases(arch, rootfs, workdir):
    """Cases a, b (with d, the Loki push) and c in the root file systems; returns the exit
    status."""
    use_chroot = chroot_allowed(rootfs[FUNCTIONS[0]])
    if not use_chroot and arch == "x86_64":
        return 1 if failures else skip_or_fail("chroot is not permitted here (run as root)")
    if not use_chroot:
        print(f"WARNING: no chroot right: {QEMU} -L falls back to host files missing in the rootfs")
    argv = {fn: run_command(arch, rootfs[fn], use_chroot) for fn in FUNCTIONS}
    expect_init_error("log_ingestor", argv["log_ingestor"], rootfs["log_ingestor"], workdir, "CLOUDLOG_QUEUE_URL")
    expect_init_error("log_processor", argv["log_processor"], rootfs["log_processor"], workdir, "CLOUDLOG_STORE")
    expect_init_error("log_query", argv["log_query"], rootfs["log_query"], workdir, "CLOUDLOG_STORE")
    if awstest.have_moto():
        expect_ingestor_cases(argv["log_ingestor"], rootfs["log_ingestor"], workdir)
        expect_full_ingest(argv, rootfs, workdir)
    else:
        check(os.environ.get("CI") != "true", "moto/boto3 importable (required under CI)")
        print(f"SKIP (cases b, c, d): moto/boto3 not importable by {sys.executable}")
    print(f"lambda.package_{arch}: " + ("all checks passed" if not failures else f"{len(failures)} FAILED"))
    return 1 if failures else 0


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in GLIBC_DIRS:
        print(__doc__, file=sys.stderr)
        return 2
    arch = sys.argv[1]
    workdir = os.path.join(os.path.abspath(sys.argv[2]), f"lambda-{arch}")
    dist = os.environ.get("CL_LAMBDA_DIST_DIR", os.path.join(ROOT, "dist"))
    missing = elfcheck.missing_tools(arch) + ([QEMU] if arch == "arm64" and not shutil.which(QEMU) else [])
    if missing:
        return skip_or_fail(f"{', '.join(missing)} not installed (scripts/setup.sh)")
    os.makedirs(workdir, exist_ok=True)
    rootfs = unpack_zips(arch, dist, workdir)
    if len(rootfs) != len(FUNCTIONS):
        return 1
    # Run even when the ELF check failed: the runs show what such a binary does there.
    return run_cases(arch, rootfs, workdir)


def list_files(top):
    for base, _, files in os.walk(top):
        for name in files:
            yield os.path.relpath(os.path.join(base, name), top)


if __name__ == "__main__":
    sys.exit(main())
