"""The SQS queue backend and the official CLI (awscli v1), end to end, against moto with
SigV4 verification on.

* Messages `cloudlog serve --queue <SQS queue URL> --no-processor` puts on SQS are received
  with `aws sqs receive-message` and decode per the contract: base64 body -> gzip -> the
  normalized NDJSON records, with the count / raw_bytes / min_ts_ms / max_ts_ms / encoding
  message attributes agreeing with the body.
* A batch written with `aws sqs send-message` (base64 of gzip NDJSON, same attributes) is
  received by the daemon's SQS backend, stored, and found by `cloudlog query`.
"""

import base64
import gzip
import json
import os
import subprocess
import time

import awstest
import cltest

WAIT = 60  # seconds for messages to arrive / records to be stored


class SqsCli(cltest.DaemonTestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = awstest.Moto(verify=True).start() if awstest.have_moto() else None

    @classmethod
    def tearDownClass(cls):
        if cls.moto:
            cls.moto.stop()

    def setUp(self):
        super().setUp()
        awstest.require_moto(self)
        if not awstest.have_tool("aws"):
            if os.environ.get("CI") == "true":
                self.fail("aws (awscli v1) not on PATH (required when CI=true)")
            self.skipTest("aws (awscli v1) not on PATH; scripts/setup.sh installs it with pip "
                          "when a Python package index is reachable")
        self.sqs = self.moto.client("sqs")

    def aws(self, *args):
        """Runs `aws sqs ARGS` against moto with the verified key; returns its JSON."""
        env = dict(os.environ)
        env.update(self.moto.env())
        out = subprocess.run(["aws", "--endpoint-url", self.moto.url, "--region",
                              awstest.REGION, "--output", "json", "sqs"] + list(args),
                             env=env, capture_output=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr.decode())
        return json.loads(out.stdout or b"{}")

    def test_daemon_messages_decode_with_the_cli(self):
        q = self.sqs.create_queue(QueueName="cli-ingest")["QueueUrl"]
        d = self.daemon(args=["--queue", q, "--no-processor"], env=self.moto.env())
        now = int(time.time() * 1000)
        posted = 0
        for k in range(3):
            recs = [{"service": ("api", "web")[i % 2], "level": "warn", "seq": k * 40 + i,
                     "message": "to the cli %d" % (k * 40 + i), "ts": now - 1000 * i}
                    for i in range(40)]
            self.assertAccepted(d.post_logs(recs), 40)
            posted += len(recs)
        seqs = []
        deadline = time.monotonic() + WAIT
        while len(seqs) < posted and time.monotonic() < deadline:
            got = self.aws("receive-message", "--queue-url", q, "--max-number-of-messages",
                           "10", "--wait-time-seconds", "1", "--message-attribute-names",
                           "All", "--attribute-names", "All")
            for m in got.get("Messages", []):
                seqs += self.check_message(m)
                self.aws("delete-message", "--queue-url", q, "--receipt-handle",
                         m["ReceiptHandle"])
        self.assertEqual(sorted(seqs), list(range(posted)), "every record exactly once")

    def check_message(self, m):
        """Decodes one CLI-received message per the contract; returns its records' seqs."""
        raw = gzip.decompress(base64.b64decode(m["Body"], validate=True))
        lines = raw.decode("utf-8").splitlines()
        a = {k: (v["DataType"], v["StringValue"]) for k, v in m["MessageAttributes"].items()}
        self.assertEqual(sorted(a), ["count", "encoding", "max_ts_ms", "min_ts_ms",
                                     "raw_bytes"])
        self.assertEqual(a["encoding"], ("String", "gzip"))
        for k in ("count", "raw_bytes", "min_ts_ms", "max_ts_ms"):
            self.assertEqual(a[k][0], "Number", k)
        self.assertEqual(m["Attributes"]["ApproximateReceiveCount"], "1")
        cltest.check_message_attrs(self, {
            "id": m["MessageId"], "lines": lines, "encoding": a["encoding"][1],
            "record_count": int(a["count"][1]), "raw_bytes": int(a["raw_bytes"][1]),
            "min_ts": int(a["min_ts_ms"][1]), "max_ts": int(a["max_ts_ms"][1]),
            "receive_count": 0})
        return [json.loads(l)["seq"] for l in lines]

    def test_cli_message_is_stored_by_the_daemon(self):
        q = self.sqs.create_queue(QueueName="cli-send",
                                  Attributes={"VisibilityTimeout": "20"})["QueueUrl"]
        now = int(time.time() * 1000)
        tss = [now - 60000 * i for i in range(5)]
        lines = [cltest.norm_line(cltest.ms_text(t), "error", "from-cli", "sent by aws %d" % i)
                 for i, t in enumerate(tss)]
        raw = "".join(l + "\n" for l in lines).encode()
        attrs = {"count": ("Number", str(len(lines))), "raw_bytes": ("Number", str(len(raw))),
                 "min_ts_ms": ("Number", str(min(tss))), "max_ts_ms": ("Number", str(max(tss))),
                 "encoding": ("String", "gzip")}
        self.aws("send-message", "--queue-url", q, "--message-body",
                 base64.b64encode(gzip.compress(raw)).decode(), "--message-attributes",
                 json.dumps({k: {"DataType": t, "StringValue": v}
                             for k, (t, v) in attrs.items()}))
        store = "file:" + cltest.mkdtemp("cl-sqs-store-")
        d = self.daemon(args=["--queue", q, "--store", store, "--processor-workers", "1"],
                        env=self.moto.env())
        deadline = time.monotonic() + WAIT
        count = None
        while time.monotonic() < deadline:
            st, out, err = cltest.run_cli(["query", "--store", store, "--since", "1h",
                                           "--count", "--grep", "sent by aws"])
            self.assertEqual(st, 0, err)
            count = out.strip()
            if count == str(len(lines)):
                break
            time.sleep(0.3)
        self.assertEqual(count, str(len(lines)), "daemon log:\n" + d.log_tail())
        st, out, err = cltest.run_cli(["query", "--store", store, "--since", "1h",
                                       "--service", "from-cli", "--format", "json"])
        self.assertEqual(st, 0, err)
        got = sorted(json.loads(l)["message"] for l in out.splitlines())
        self.assertEqual(got, sorted("sent by aws %d" % i for i in range(5)))
        a = self.sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["All"])["Attributes"]
        deadline = time.monotonic() + WAIT
        while (a["ApproximateNumberOfMessages"], a["ApproximateNumberOfMessagesNotVisible"]) \
                != ("0", "0") and time.monotonic() < deadline:
            time.sleep(0.3)
            a = self.sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["All"])["Attributes"]
        self.assertEqual(a["ApproximateNumberOfMessagesNotVisible"], "0", "deleted once stored")
        self.assertEqual(a["ApproximateNumberOfMessages"], "0")


if __name__ == "__main__":
    cltest.main()
