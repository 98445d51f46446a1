"""s3_moto.py - an S3 bucket on moto for the S3 store's e2e tests, on top of awstest.Moto.
moto runs without signature checks: moto 5.2.1 checks S3 signatures against a re-encoded
path that rejects keys with '=' (our partition keys; docs/aws.md);
tests/unit/test_store_s3.c covers verified signatures."""

import os
import shutil
import time

import awstest


def missing(*tools):
    """None when moto/boto3 and the named command-line tools are usable, else why not."""
    if not awstest.have_moto():
        return "moto/boto3 not importable in this Python"
    for t in tools:
        if shutil.which(t) is None:
            return "%s is not on PATH" % t
    return None


def skip_or_fail(tc, why):
    """Skips the test, or fails it under CI=true where the tools must be present."""
    if os.environ.get("CI") == "true":
        tc.fail(why)
    tc.skipTest(why)


class S3Moto:
    def __init__(self, bucket):
        self.moto = awstest.Moto(verify=False).start()
        self.url = self.moto.url
        self.bucket = bucket
        # Credentials for cloudlog; IMDS is never asked (the environment has keys anyway).
        self.env = dict(self.moto.env(), AWS_EC2_METADATA_DISABLED="true")
        self.s3 = self.moto.client("s3")
        deadline = time.monotonic() + 30
        while True:  # moto may accept connections before it serves requests
            try:
                self.s3.create_bucket(Bucket=bucket)
                break
            except Exception:
                if time.monotonic() > deadline:
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
        self.moto.stop()
