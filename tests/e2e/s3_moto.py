"""s3_moto.py - an S3 stand-in for the e2e tests: moto_server on a free loopback port in
its own process group (killed by stop() and by cltest's exit handlers), with a boto3
client and a bucket. moto 5.2.1 checks S3 signatures against a re-encoded path that
rejects keys with '=' (our partition keys; docs/aws.md), so it runs without signature
checks here; tests/unit/test_store_s3.c covers verified signatures."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import cltest

CREDS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
             "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}


def missing():
    """None when moto_server and boto3 are usable, else why not."""
    try:
        import boto3  # noqa: F401
        import moto  # noqa: F401
    except ImportError as e:
        return "moto/boto3 not importable in this Python (%s): %s" % (sys.executable, e)
    if shutil.which("moto_server") is None:
        return "moto_server is not on PATH"
    return None


def skip_or_fail(tc, why):
    """Skips the test, or fails it under CI=true where the tools must be present."""
    if os.environ.get("CI") == "true":
        tc.fail(why)
    tc.skipTest(why)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    def __init__(self, bucket):
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        self.bucket = bucket
        self.proc = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        cltest._live_procs.append(self.proc)
        import boto3
        self.s3 = boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                               aws_access_key_id="testing", aws_secret_access_key="testing")
        deadline = time.monotonic() + 30
        while True:
            try:
                self.s3.create_bucket(Bucket=bucket)
                break
            except Exception:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise
                time.sleep(0.2)

    def store_url(self, prefix, endpoint=None, **opts):
        """s3:// URL of prefix in the bucket through endpoint (default: moto itself)."""
        q = "endpoint=%s&path_style=1" % (endpoint or self.url)
        for k, v in sorted(opts.items()):
            q += "&%s=%s" % (k, v)
        return "s3://%s/%s?%s" % (self.bucket, prefix, q)

    def keys(self, prefix):
        out = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket,
                                                                      Prefix=prefix):
            out += [o["Key"] for o in page.get("Contents", [])]
        return out

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
