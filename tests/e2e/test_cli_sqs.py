"""`cloudlog status --queue URL` and `cloudlog dlq list|show|redrive --queue URL` on an SQS
queue, against moto in server mode with SigV4 verification on.

Setup (boto3, with the verified key): a queue whose RedrivePolicy sends a message to its
DLQ after one receive; messages in the contract's format (base64 of gzip NDJSON, the five
attributes) are sent to it and received twice with boto3, so SQS moves them to the DLQ.
Then the CLI reports the depths, lists the DLQ messages by their SQS ids, shows one
(attributes and decoded records), redrives one id (boto3 sees it back on the main queue,
the DLQ one fewer) and then all the rest (moto lacks StartMessageMoveTask: the fallback).
Unknown ids, a bad URL, a queue that does not exist, an unreachable endpoint and missing
credentials each give one clear line and a non-zero exit. `--queue sqlite:FILE` reads a
queue file as `--data` does (the non-SQS form of the option)."""

import base64
import gzip
import json
import os
import time
import unittest

import awstest
import cltest
import test_cli  # plant_dlq and fresh_data_dir: the SQLite queue's DLQ fixtures

N_DEAD = 4
WAIT = 30  # seconds for moto to move messages to the DLQ


def cli(tc, args, env, expect_rc=0):
    rc, out, err = cltest.run_cli(args, env=env, timeout=60)
    tc.assertEqual(rc, expect_rc, "cloudlog %s\nstdout:\n%s\nstderr:\n%s"
                   % (" ".join(args), out, err))
    return out, err


class CliOnSqs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.moto = awstest.Moto(verify=True).start() if awstest.have_moto() else None

    @classmethod
    def tearDownClass(cls):
        if cls.moto:
            cls.moto.stop()

    def setUp(self):
        awstest.require_moto(self)
        self.sqs = self.moto.client("sqs")
        self.env = self.moto.env()
        # No AWS_ENDPOINT_URL_CLOUDWATCH: a queue URL on a host that is not AWS's (moto's)
        # is taken as a stand-in serving CloudWatch on the same endpoint.
        # A data directory that does not exist: on SQS nothing may read DATA/queue.db.
        self.env["CLOUDLOG_DATA"] = cltest.mkdtemp("cl-cli-sqs-") + "/absent"

    def make_queue(self, name):
        return awstest.queue_with_dlq(self.sqs, name, max_receive=1)

    def send_batch(self, q, tag, n_records):
        now = int(time.time() * 1000)
        tss = [now - 1000 * i for i in range(n_records)]
        lines = [cltest.norm_line(cltest.ms_text(t), "error", "sqs-cli", "%s rec %d" % (tag, i))
                 for i, t in enumerate(tss)]
        raw = "".join(l + "\n" for l in lines).encode()
        attrs = {"count": ("Number", str(len(lines))), "raw_bytes": ("Number", str(len(raw))),
                 "min_ts_ms": ("Number", str(min(tss))), "max_ts_ms": ("Number", str(max(tss))),
                 "encoding": ("String", "gzip")}
        body = base64.b64encode(gzip.compress(raw)).decode()
        self.sqs.send_message(QueueUrl=q, MessageBody=body, MessageAttributes={
            k: {"DataType": t, "StringValue": v} for k, (t, v) in attrs.items()})
        return body, lines

    def count(self, url, attr="ApproximateNumberOfMessages"):
        return int(self.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=[attr])["Attributes"][attr])

    def kill_messages(self, q, dlq, n):
        """Receives every message of q twice (visibility 0): maxReceiveCount 1 makes SQS
        move each to the DLQ at its second receive."""
        deadline = time.monotonic() + WAIT
        for _ in range(WAIT * 10):
            if self.count(dlq) >= n or time.monotonic() > deadline:
                break
            self.sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, VisibilityTimeout=0)
        self.assertEqual(self.count(dlq), n, "messages moved to the DLQ")
        self.assertEqual(self.count(q), 0)

    def dead_queue(self, name):
        """A queue with N_DEAD messages in its DLQ; returns (queue URL, DLQ URL, {body:
        lines})."""
        q, dlq = self.make_queue(name)
        sent = dict(self.send_batch(q, "%s-%d" % (name, i), 2 + i) for i in range(N_DEAD))
        self.kill_messages(q, dlq, N_DEAD)
        return q, dlq, sent

    def dlq_ids(self, q):
        out, _ = cli(self, ["dlq", "list", "--queue", q, "--json"], self.env)
        return [json.loads(l) for l in out.splitlines()]

    def test_status_reports_sqs_depths(self):
        q, dlq, _ = self.dead_queue("st")
        self.send_batch(q, "live", 3)
        self.send_batch(q, "live2", 3)
        self.sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=1, VisibilityTimeout=300)
        out, err = cli(self, ["status", "--queue", q], self.env)
        self.assertEqual(err, "")
        self.assertIn("queue (SQS %s)" % q, out)
        self.assertRegex(out, r"(?m)^  visible +1$")
        self.assertRegex(out, r"(?m)^  in flight +1$")
        self.assertRegex(out, r"(?m)^dead-letter queue\n  messages +%d$" % N_DEAD)
        # moto publishes no SQS metrics: no datapoint is "unknown", never 0.
        self.assertRegex(out, r"(?m)^  oldest +unknown \(no CloudWatch datapoint\)$")
        self.assertIn("SQS has no catalog", out)

        js = json.loads(cli(self, ["status", "--queue", q, "--json"], self.env)[0])
        self.assertEqual(js["backend"], "sqs")
        self.assertEqual(js["queue_url"], q)
        self.assertEqual((js["queue"]["visible"], js["queue"]["inflight"]), (1, 1))
        self.assertIsNone(js["queue"]["oldest_age_ms"])
        self.assertIsNone(js["queue"]["records"])
        self.assertEqual(js["dlq"]["depth"], N_DEAD)
        self.assertEqual(sorted(js["store"]), ["bytes", "compression_ratio", "max_ts",
                                               "min_ts", "note", "objects", "raw_bytes",
                                               "records"])
        self.assertIsNone(js["store"]["objects"])

    def test_status_takes_endpoint_url(self):
        """`status --endpoint-url` (as query and tail have it; issue 13, item 9): an
        sqs://NAME queue found at the given endpoint, CloudWatch read there too."""
        q, _ = self.make_queue("st-ep")
        self.send_batch(q, "ep", 2)
        js = json.loads(cli(self, ["status", "--queue", "sqs://st-ep", "--endpoint-url",
                                   self.moto.url, "--json"], self.env)[0])
        self.assertEqual(js["queue"]["visible"], 1, js)
        env = dict(self.env, CLOUDLOG_ENDPOINT_URL=self.moto.url)
        js = json.loads(cli(self, ["status", "--queue", "sqs://st-ep", "--json"], env)[0])
        self.assertEqual(js["queue"]["visible"], 1, js)

    def test_status_reads_the_oldest_age_from_cloudwatch(self):
        q, _ = self.make_queue("st-cw")
        self.send_batch(q, "old", 1)
        # moto does not publish SQS metrics itself: put the datapoint SQS would.
        self.moto.client("cloudwatch").put_metric_data(Namespace="AWS/SQS", MetricData=[{
            "MetricName": "ApproximateAgeOfOldestMessage", "Value": 7200.0, "Unit": "Seconds",
            "Dimensions": [{"Name": "QueueName", "Value": "st-cw"}]}])
        js = json.loads(cli(self, ["status", "--queue", q, "--json"], self.env)[0])
        age = js["queue"]["oldest_age_ms"]
        self.assertIsNotNone(age, js)
        self.assertGreaterEqual(age, 7200 * 1000)
        self.assertLess(age, 7200 * 1000 + 600 * 1000)
        out, _ = cli(self, ["status", "--queue", q], self.env)
        self.assertRegex(out, r"(?m)^  oldest +2h$")

    def test_status_without_cloudwatch_still_reports_depths(self):
        q, _ = self.make_queue("st-nocw")
        self.send_batch(q, "a", 1)
        env = dict(self.env, AWS_ENDPOINT_URL_CLOUDWATCH="http://127.0.0.1:%d"
                   % awstest.free_port())
        out, err = cli(self, ["status", "--queue", q], env)
        self.assertRegex(out, r"(?m)^  visible +1$")
        self.assertRegex(out, r"(?m)^  oldest +unknown \(CloudWatch not readable\)$")
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn("ApproximateAgeOfOldestMessage could not be read", err)

    def test_list_show_and_redrive_by_sqs_id(self):
        q, dlq, sent = self.dead_queue("dl")
        rows = self.dlq_ids(q)
        self.assertEqual(len(rows), N_DEAD)
        by_count = {r["record_count"]: r for r in rows}
        self.assertEqual(sorted(by_count), [2 + i for i in range(N_DEAD)])
        for r in rows:
            self.assertRegex(r["id"], r"^[0-9a-f-]{36}$")
            self.assertEqual(r["encoding"], "gzip")
            self.assertIsNone(r["error"])

        table, _ = cli(self, ["dlq", "list", "--queue", q], self.env)
        self.assertRegex(table.splitlines()[0], r"^ID +RECEIVES +AGE +RECORDS +ERROR$")
        for r in rows:
            self.assertRegex(table, r"(?m)^%s +\d+ +\d+[smhd] +%d -$"
                             % (r["id"], r["record_count"]))

        target = by_count[3]
        out, _ = cli(self, ["dlq", "show", target["id"], "--queue", q], self.env)
        self.assertIn("id:             %s\n" % target["id"], out)
        self.assertIn("records:        3\n", out)
        want = next(lines for lines in sent.values() if len(lines) == 3)
        self.assertEqual(out.split("\n\n", 1)[1].splitlines(), want)

        out, _ = cli(self, ["dlq", "redrive", target["id"], "--queue", q], self.env)
        self.assertEqual(out, "redrove 1 message(s)\n")
        self.assertEqual(self.count(dlq), N_DEAD - 1)
        self.assertEqual(self.count(q), 1)
        back = self.sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10,
                                        VisibilityTimeout=0)["Messages"]
        self.assertEqual([sent[m["Body"]] for m in back], [want], "the redriven message")
        self.assertNotIn(target["id"], [r["id"] for r in self.dlq_ids(q)])

        out, _ = cli(self, ["dlq", "redrive", "--all", "--queue", q], self.env)
        self.assertEqual(out, "redrove %d message(s)\n" % (N_DEAD - 1))
        self.assertEqual(self.count(dlq), 0)
        self.assertEqual(self.count(q), N_DEAD)
        out, _ = cli(self, ["dlq", "list", "--queue", q], self.env)
        self.assertEqual(out, "dead-letter queue is empty\n")

    def test_unknown_ids_are_clear_errors(self):
        q, dlq, _ = self.dead_queue("unk")
        ghost = "00000000-0000-4000-8000-000000000000"
        _, err = cli(self, ["dlq", "show", ghost, "--queue", q], self.env, expect_rc=1)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn("message %s is not in the dead-letter queue" % ghost, err)
        real = self.dlq_ids(q)[0]["id"]
        out, err = cli(self, ["dlq", "redrive", ghost, real, "--queue", q], self.env,
                       expect_rc=1)
        self.assertIn("message %s is not in the dead-letter queue" % ghost, err)
        self.assertEqual(out, "redrove 1 message(s)\n", "the known id is still redriven")
        self.assertEqual(self.count(dlq), N_DEAD - 1)
        again = self.dlq_ids(q)[0]["id"]
        out, _ = cli(self, ["dlq", "redrive", again, again, "--queue", q], self.env)
        self.assertEqual(out, "redrove 1 message(s)\n", "an id given twice moves once")
        self.assertEqual(self.count(dlq), N_DEAD - 2)
        # Numeric ids are SQLite's; on SQS "42" is just an id SQS does not have.
        _, err = cli(self, ["dlq", "show", "42", "--queue", q], self.env, expect_rc=1)
        self.assertIn("message 42 is not in the dead-letter queue", err)

    def test_open_failures_are_one_clear_line(self):
        q, _ = self.make_queue("errs")
        bad_env = dict(self.env, AWS_SECRET_ACCESS_KEY="wrong-secret")
        no_creds = dict(self.env, AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="",
                        AWS_SESSION_TOKEN="", AWS_PROFILE="",
                        AWS_SHARED_CREDENTIALS_FILE="/nonexistent/credentials",
                        AWS_CONFIG_FILE="/nonexistent/config",
                        AWS_CONTAINER_CREDENTIALS_FULL_URI="",
                        AWS_CONTAINER_CREDENTIALS_RELATIVE_URI="",
                        AWS_EC2_METADATA_DISABLED="true")
        closed = "http://127.0.0.1:%d/123456789012/errs" % awstest.free_port()
        cases = [
            (["status", "--queue", "sqs://bad name"], self.env, "invalid SQS queue name"),
            (["dlq", "list", "--queue", q + "?bogus=1"], self.env, "unknown sqs queue option"),
            (["dlq", "list", "--queue", "sqs://no-such-queue?endpoint=" + self.moto.url],
             self.env, "QueueDoesNotExist"),
            (["status", "--queue", q], bad_env, "SignatureDoesNotMatch"),
            (["dlq", "redrive", "--all", "--queue", closed], self.env, "cannot open SQS"),
            (["dlq", "show", "x", "--queue", q], no_creds, "cannot open SQS"),
            (["status", "--queue", "sqlite:/nonexistent/queue.db"], self.env, "no queue at"),
        ]
        for args, env, why in cases:
            with self.subTest(args=args):
                out, err = cli(self, args, env, expect_rc=1)
                self.assertEqual(out, "")
                self.assertEqual(err.count("\n"), 1, err)
                self.assertIn(why, err)
                self.assertTrue(err.startswith("cloudlog "), err)

    def test_env_variable_names_the_queue(self):
        q, _, _ = self.dead_queue("envq")
        env = dict(self.env, CLOUDLOG_QUEUE=q)
        self.assertEqual(len(self.dlq_ids_env(env)), N_DEAD)
        js = json.loads(cli(self, ["status", "--json"], env)[0])
        self.assertEqual(js["dlq"]["depth"], N_DEAD)

    def dlq_ids_env(self, env):
        out, _ = cli(self, ["dlq", "list", "--json"], env)
        return [json.loads(l) for l in out.splitlines()]


class QueueFileOption(cltest.DaemonTestCase):
    def test_sqlite_queue_file_reads_like_data(self):
        data = test_cli.fresh_data_dir(self)
        db = os.path.join(data, "queue.db")
        planted = test_cli.plant_dlq(db, 2, "file")
        elsewhere = {"CLOUDLOG_DATA": cltest.mkdtemp("cl-cli-q-") + "/absent"}
        by_data = json.loads(cli(self, ["status", "--json", "--data", data], None)[0])
        by_file = json.loads(cli(self, ["status", "--json", "--queue", "sqlite:" + db],
                                 dict(elsewhere, CLOUDLOG_DATA=data))[0])
        self.assertEqual((by_data["backend"], by_data["queue_url"]), ("sqlite", None))
        self.assertEqual(by_file["queue_url"], "sqlite:" + db)
        for k in ("queue", "dlq", "store"):
            self.assertEqual(by_file[k], by_data[k], k)
        out, _ = cli(self, ["dlq", "list", "--json", "--queue", db], elsewhere)
        self.assertEqual([json.loads(l)["id"] for l in out.splitlines()],
                         [str(p[0]) for p in planted])
        out, _ = cli(self, ["dlq", "show", str(planted[0][0]), "--queue", "sqlite:" + db],
                     elsewhere)
        self.assertEqual(out.split("\n\n", 1)[1].splitlines(), planted[0][1])
        out, _ = cli(self, ["dlq", "redrive", "--all", "--queue", "sqlite:" + db], elsewhere)
        self.assertEqual(out, "redrove 2 message(s)\n")
        _, err = cli(self, ["dlq", "list", "--queue", "sqlite:" + db + ".typo"], elsewhere,
                     expect_rc=1)
        self.assertIn("no queue at", err)
        self.assertFalse(os.path.exists(db + ".typo"), "a wrong name creates nothing")


if __name__ == "__main__":
    cltest.main()
