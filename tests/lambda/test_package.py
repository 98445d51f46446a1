#!/usr/bin/env python3
"""Packaging test of the Lambda zips of one architecture (docs/lambda.md, "Packaging").

For dist/log_ingestor-ARCH.zip and dist/log_processor-ARCH.zip (scripts/lambda.sh):
  1. the zip holds exactly one regular file, `bootstrap`, mode 0755;
  2. elfcheck.py: right machine, only glibc libraries NEEDED, no symbol version newer than
     GLIBC_2.34 (what Amazon Linux 2023 has);
  3. the bootstrap runs in a hand-built root file system holding nothing but the dynamic
     loader, glibc's libraries it needs (libc.so.6, libm.so.6) and the bootstrap itself:
     x86_64 under chroot, arm64 under qemu-aarch64-static (inside the same chroot, so the
     host's arm64 libraries cannot stand in; outside CI without chroot rights, with
     `qemu-aarch64-static -L ROOTFS` and a warning). Against a loopback Runtime API
     (runtime_stub.py) it must
       a. post an init error naming the missing required variable and exit non-zero
          (both functions), and
       b. (log_ingestor, valid configuration) answer an API Gateway HTTP API 2.0 event
          whose body is not JSON with a 400 response. Its queue is the SQLite backend
          (linked into the function as well), a file inside the root file system, so
          this needs no AWS.

Usage: test_package.py ARCH WORKDIR   (exit 77 = skipped: a tool or chroot right is missing
and CI is not set; under CI=true that is a failure)
"""
import base64
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
import zipfile

import elfcheck
from runtime_stub import RuntimeStub

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FUNCTIONS = ("log_ingestor", "log_processor")
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
    """A root file system with only the loader, the glibc libraries the bootstrap needs,
    and the bootstrap; returns the bootstrap's path in it."""
    shutil.rmtree(rootfs, ignore_errors=True)
    exe = os.path.join(rootfs, "bootstrap")
    os.makedirs(os.path.join(rootfs, "lib"))
    with open(exe, "wb") as f:
        f.write(bootstrap)
    os.chmod(exe, 0o755)
    interp = elfcheck.interpreter(exe)
    os.makedirs(os.path.dirname(rootfs + interp), exist_ok=True)
    shutil.copy(os.path.join(GLIBC_DIRS[arch], os.path.basename(interp)), rootfs + interp)
    # /lib is in the search path of both architectures' loaders (ld.so --help).
    for lib in elfcheck.needed_libs(exe):
        if lib != os.path.basename(interp):
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


def base_env(stub):
    """What Lambda itself would set (fake credentials: nothing here talks to AWS)."""
    return {
        "AWS_LAMBDA_RUNTIME_API": stub.api,
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDPACKAGINGTEST",
        "AWS_SECRET_ACCESS_KEY": "packaging-test-secret",
        "LAMBDA_TASK_ROOT": "/",
    }


def expect_init_error(fn, argv, rootfs, workdir, missing_var):
    """Case a: without its required variable the function reports an init error, exits."""
    stub = RuntimeStub().start()
    proc = Bootstrap(argv, rootfs, base_env(stub), os.path.join(workdir, f"{fn}-init-error"))
    try:
        post = stub.next_post(START_TIMEOUT_S)
        status = proc.wait_exit(EXIT_TIMEOUT_S)
        message = (post[2] or {}).get("errorMessage", "") if post and isinstance(post[2], dict) else ""
        ok = check(
            post is not None and post[0] == "init_error" and missing_var in message,
            f"{fn}: init error names {missing_var} (got {post[:3] if post else None})",
        )
        ok &= check(status not in (None, 0), f"{fn}: exits non-zero after the init error (status {status})")
        if not ok:
            print(proc.stderr_tail())
    finally:
        proc.close()
        stub.stop()


def http_api_event(body):
    """An API Gateway HTTP API payload format 2.0 event for POST /v1/logs (AWS's example
    shape, trimmed to the fields a function reads)."""
    now_ms = int(time.time() * 1000)
    return {
        "version": "2.0",
        "routeKey": "POST /v1/logs",
        "rawPath": "/v1/logs",
        "rawQueryString": "",
        "headers": {"content-type": "application/json", "user-agent": "packaging-test"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api-id",
            "domainName": "id.execute-api.us-east-1.amazonaws.com",
            "http": {
                "method": "POST",
                "path": "/v1/logs",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "packaging-test",
            },
            "requestId": "packaging-test-request",
            "routeKey": "POST /v1/logs",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now_ms / 1000)),
            "timeEpoch": now_ms,
        },
        "body": base64.b64encode(body).decode(),
        "isBase64Encoded": True,
    }


def expect_bad_body_400(argv, rootfs, workdir):
    """Case b: a configured log_ingestor answers a non-JSON body with 400."""
    stub = RuntimeStub().start()
    env = dict(base_env(stub), CLOUDLOG_QUEUE_URL="sqlite:queue.db")
    proc = Bootstrap(argv, rootfs, env, os.path.join(workdir, "log_ingestor-bad-body"))
    try:
        request_id = stub.invoke(http_api_event(b"this is not JSON\n"))
        post = stub.next_post(START_TIMEOUT_S)
        answer = post[2] if post and isinstance(post[2], dict) else {}
        ok = check(
            post is not None and post[0] == "response" and post[1] == request_id,
            f"log_ingestor: posts a response for the event (got {post[:3] if post else None})",
        )
        ok &= check(answer.get("statusCode") == 400, f"log_ingestor: statusCode 400 (got {answer.get('statusCode')})")
        ok &= check(proc.proc.poll() is None, "log_ingestor: still running, waiting for the next event")
        if not ok:
            print(proc.stderr_tail())
    finally:
        proc.close()
        stub.stop()


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
        print(f"{fn}-{arch}: bootstrap {len(bootstrap)} bytes, rootfs: {sorted(list_files(rootfs[fn]))}")
    if failures:
        return 1

    use_chroot = chroot_allowed(rootfs[FUNCTIONS[0]])
    if not use_chroot and arch == "x86_64":
        return skip_or_fail("chroot is not permitted here (run as root); the ELF checks passed")
    if not use_chroot:
        print(f"WARNING: no chroot right: {QEMU} -L falls back to host files missing in the rootfs")
    argv = {fn: run_command(arch, rootfs[fn], use_chroot) for fn in FUNCTIONS}
    expect_init_error("log_ingestor", argv["log_ingestor"], rootfs["log_ingestor"], workdir, "CLOUDLOG_QUEUE_URL")
    expect_init_error("log_processor", argv["log_processor"], rootfs["log_processor"], workdir, "CLOUDLOG_STORE")
    expect_bad_body_400(argv["log_ingestor"], rootfs["log_ingestor"], workdir)
    print(f"lambda.package_{arch}: " + ("all checks passed" if not failures else f"{len(failures)} FAILED"))
    return 1 if failures else 0


def list_files(top):
    for base, _, files in os.walk(top):
        for name in files:
            yield os.path.relpath(os.path.join(base, name), top)


if __name__ == "__main__":
    sys.exit(main())
