"""Interoperability of the S3 store with the official AWS CLI (awscli v1) over moto:
objects cloudlog writes (`serve --store s3://...`) are listed by `aws s3 ls`, fetched by
`aws s3 cp` and are plain gzip NDJSON (`zcat`); objects `aws s3 cp` uploads under the
partition layout are read by `cloudlog query/partitions --store s3://...`."""

import datetime
import gzip
import hashlib
import json
import os
import subprocess
import time

import cltest
import s3_moto

BUCKET = "cl-cli"
NOW_MS = int(time.time() * 1000)


def aws(moto, *args, timeout=120, stdin=None):
    """Runs `aws --endpoint-url MOTO ...`; returns stdout bytes (fails on a non-zero exit)."""
    env = dict(os.environ)
    env.update(moto.env)
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    p = subprocess.run(["aws", "--endpoint-url", moto.url] + list(args), env=env, input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    if p.returncode != 0:
        raise AssertionError("aws %s: exit %d: %s" % (" ".join(args), p.returncode,
                                                       p.stderr.decode("utf-8", "replace")))
    return p.stdout


def zcat(data):
    p = subprocess.run(["zcat"], input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    if p.returncode != 0:
        raise AssertionError("zcat: %s" % p.stderr.decode("utf-8", "replace"))
    return p.stdout.decode("utf-8")


class S3Cli(cltest.DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.why = s3_moto.missing("aws")
        if cls.why:
            return
        cls.moto = s3_moto.S3Moto(BUCKET)

    @classmethod
    def tearDownClass(cls):
        if not cls.why:
            cls.moto.stop()

    def setUp(self):
        super().setUp()
        if self.why:
            s3_moto.skip_or_fail(self, self.why)

    def test_cli_reads_what_we_write(self):
        d = self.daemon(args=["--store", self.moto.store_url("ours"), "--flush-age", "300ms",
                              "--flush-size", "4KiB"], env=self.moto.env)
        recs = [{"message": "ours %d" % i, "service": ["api", "db"][i % 2], "level": "warn",
                 "ts": NOW_MS - 3600 * 1000 + i * 1000} for i in range(400)]
        st, _, js = d.post_logs(recs)
        self.assertEqual(st, 202, js)
        cltest.wait_drained(d.data_dir, daemon=d, timeout=180)
        d.stop()
        listing = aws(self.moto, "s3", "ls", "s3://%s/ours/" % BUCKET, "--recursive").decode()
        keys = [line.split()[-1] for line in listing.splitlines() if line.strip()]
        self.assertEqual(sorted(keys), sorted(self.moto.keys("ours/")))
        self.assertGreaterEqual(len(keys), 2)
        messages = []
        for key in keys:
            self.assertRegex(key[len("ours/"):], cltest.OBJECT_KEY_RE)
            data = aws(self.moto, "s3", "cp", "s3://%s/%s" % (BUCKET, key), "-")
            lines = zcat(data).splitlines()
            self.assertTrue(lines, key)
            for line in lines:
                rec = json.loads(line)
                self.assertIn("service=%s/" % rec["service"], key)
                messages.append(rec["message"])
        self.assertEqual(sorted(messages), sorted(r["message"] for r in recs))

    def upload(self, tmp, prefix, service, hour_ms, n):
        """Writes n normalized records of service in hour_ms's hour as a gzip NDJSON file
        and uploads it with `aws s3 cp` under the partition layout; returns the lines."""
        t = datetime.datetime.fromtimestamp(hour_ms / 1000, datetime.timezone.utc)
        lines = []
        for i in range(n):
            ts = (t.replace(minute=i % 60, second=0, microsecond=0)
                  .strftime("%Y-%m-%dT%H:%M:%S.000Z"))
            lines.append(cltest.norm_line(ts, "error" if i % 4 == 0 else "info", service,
                                          "from the cli %s %d" % (service, i), '"n":%d' % i))
        lines.sort()
        path = os.path.join(tmp, "%s.ndjson.gz" % service)
        with gzip.open(path, "wt") as f:
            f.write("".join(l + "\n" for l in lines))
        key = "%s/service=%s/dt=%s/hour=%s/%sZ-%016x.ndjson.gz" % (
            prefix, service, t.strftime("%Y-%m-%d"), t.strftime("%H"),
            t.strftime("%Y%m%dT%H%M%S"), int(hashlib.sha256(service.encode()).hexdigest()[:16], 16))
        aws(self.moto, "s3", "cp", path, "s3://%s/%s" % (BUCKET, key))
        return lines

    def test_we_read_what_the_cli_writes(self):
        tmp = cltest.mkdtemp("cl-s3cli-")
        hour_ago = NOW_MS - 3600 * 1000
        lines = (self.upload(tmp, "cli", "billing", hour_ago, 30) +
                 self.upload(tmp, "cli", "auth", hour_ago - 3600 * 1000, 20))
        url = self.moto.store_url("cli")
        env = self.moto.env
        rc, out, err = cltest.run_cli(["query", "--store", url, "--since", "4h", "--limit", "0"],
                                      env=env, timeout=120)
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(out.splitlines()), sorted(lines))
        rc, out, err = cltest.run_cli(["query", "--store", url, "--since", "4h", "--count",
                                       "--service", "billing", "--level", "error"],
                                      env=env, timeout=120)
        self.assertEqual((rc, out.strip()), (0, "8"), err)  # i % 4 == 0 of 30
        rc, out, err = cltest.run_cli(["partitions", "--store", url, "--since", "4h", "--json"],
                                      env=env, timeout=120)
        self.assertEqual(rc, 0, err)
        parts = [json.loads(l) for l in out.splitlines()]
        self.assertEqual(sum(p["objects"] for p in parts), 2, out)


if __name__ == "__main__":
    cltest.main()
