"""awstest.py - moto in server mode for the e2e tests of the AWS runtime (stdlib + the
machine image's moto/boto3; never installed by the tests).

    moto = awstest.Moto(verify=True)   # signatures verified after an IAM user is set up
    moto.start(); moto.key_id, moto.secret; moto.client("sqs"); moto.stop()

With verify=True moto is started with INITIAL_NO_AUTH_ACTION_COUNT=3: the first three
calls create an IAM user, an allow-all inline policy and an access key (as
tests/unit/test_store_s3.c does), and from then on every request's SigV4 signature is
checked. moto 5.2.1 checks S3 signatures against a re-quoted path, which rejects keys
with '=' (our partition keys) even from boto3 (docs/aws.md), so S3 objects go to a
second moto with verify=False.

have_moto() tells whether moto/boto3 are importable; require_moto(testcase) skips (or
fails when CI=true) with a clear message when they are not.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import cltest
import lambda_runtime

REGION = "us-east-1"
START_TIMEOUT = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def have_moto():
    try:
        import boto3  # noqa: F401
        import moto  # noqa: F401
        return True
    except ImportError:
        return False


def require_moto(tc):
    if have_moto():
        return
    msg = ("moto/boto3 not importable in this Python (%s); scripts/setup.sh installs them "
           "with pip when a Python package index is reachable" % sys.executable)
    if os.environ.get("CI") == "true":
        tc.fail(msg)
    tc.skipTest(msg)


class Moto:
    def __init__(self, verify):
        self.verify = verify
        self.proc = None
        self.port = None
        self.key_id = "testing"
        self.secret = "testing"

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self):
        self.port = free_port()
        env = dict(os.environ)
        if self.verify:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
        log = open(os.path.join(cltest.mkdtemp("cl-moto-"), "moto.log"), "wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()
        cltest._live_procs.append(self.proc)  # killed by cltest's exit handlers too
        self._wait_listening()
        if self.verify:
            self._create_user()
        return self

    def _wait_listening(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("moto_server exited with %d" % self.proc.returncode)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto_server did not listen within %ds" % START_TIMEOUT)

    def _create_user(self):
        import boto3
        iam = boto3.client("iam", endpoint_url=self.url, region_name=REGION,
                           aws_access_key_id="AKIDSETUP", aws_secret_access_key="setup")
        iam.create_user(UserName="cl")
        iam.put_user_policy(
            UserName="cl", PolicyName="all",
            PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
                           '"Action":"*","Resource":"*"}]}')
        k = iam.create_access_key(UserName="cl")["AccessKey"]
        self.key_id, self.secret = k["AccessKeyId"], k["SecretAccessKey"]

    def client(self, service):
        import boto3
        return boto3.client(service, endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id=self.key_id, aws_secret_access_key=self.secret)

    def env(self):
        """Credentials and region for a process that talks to this moto."""
        return {"AWS_ACCESS_KEY_ID": self.key_id, "AWS_SECRET_ACCESS_KEY": self.secret,
                "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION}

    def s3_store_env(self, store):
        """env() plus this moto as the S3 endpoint and CLOUDLOG_STORE=store (s3://...)."""
        return dict(self.env(), AWS_ENDPOINT_URL_S3=self.url, CLOUDLOG_STORE=store)

    def stop(self):
        if not self.proc or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)


class S3Moto:
    """Test case mixin: an S3 moto without signature verification (cls.s3_moto; moto rejects
    S3 signatures of keys with '='), started once per class, with bucket cls.BUCKET created
    and cls.s3 its boto3 client; both None when moto is missing (tests call require_moto)."""

    BUCKET = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3_moto = cls.s3 = None
        if not have_moto():
            return
        cls.s3_moto = Moto(verify=False).start()
        cls.s3 = cls.s3_moto.client("s3")
        if cls.BUCKET:
            cls.s3.create_bucket(Bucket=cls.BUCKET)

    @classmethod
    def tearDownClass(cls):
        if cls.s3_moto:
            cls.s3_moto.stop()
        super().tearDownClass()


class SqsAndS3(S3Moto):
    """S3Moto plus an SQS moto with signature verification (cls.sqs_moto, cls.sqs its boto3
    client), started once per class; None when moto is missing."""

    @classmethod
    def setUpClass(cls):
        cls.sqs_moto = cls.sqs = None
        super().setUpClass()
        if not have_moto():
            return
        cls.sqs_moto = Moto(verify=True).start()
        cls.sqs = cls.sqs_moto.client("sqs")

    @classmethod
    def tearDownClass(cls):
        if cls.sqs_moto:
            cls.sqs_moto.stop()
        super().tearDownClass()


class FunctionCase:
    """Test case mixin for a Lambda function's tests: each test gets a loopback Runtime API
    (self.rt) and the functions it starts (start_function) are killed after it. Skips
    without moto; fails when the binary self.FUNCTION is not built."""

    FUNCTION = None

    def setUp(self):
        super().setUp()
        require_moto(self)
        require_binary(self, self.FUNCTION)
        self.rt = lambda_runtime.RuntimeAPI()
        self.funcs = []

    def tearDown(self):
        for f in self.funcs:
            f.kill()
        self.rt.close()
        super().tearDown()

    def start_function(self, env, name=None, rt=None):
        """Starts function `name` (default self.FUNCTION) against rt (default self.rt)."""
        f = Function(name or self.FUNCTION, rt or self.rt, env).start()
        self.funcs.append(f)
        return f


def queue_with_dlq(sqs, name, max_receive, visibility_s=30):
    """Creates queue `name` and `name-dlq`, the queue's RedrivePolicy moving a message to
    the DLQ after max_receive receives; returns (queue URL, DLQ URL)."""
    import json
    dlq = sqs.create_queue(QueueName=name + "-dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(
        QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    q = sqs.create_queue(QueueName=name, Attributes={
        "VisibilityTimeout": str(visibility_s),
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn,
                                     "maxReceiveCount": str(max_receive)})})["QueueUrl"]
    return q, dlq


def binary(name):
    """Path of a built Lambda function next to the cloudlog binary."""
    return os.path.join(os.path.dirname(os.path.abspath(cltest.BIN)), name)


def require_binary(tc, name):
    path = binary(name)
    if not os.access(path, os.X_OK):
        tc.fail("%s not built at %s" % (name, path))
    return path


def have_tool(name):
    return shutil.which(name) is not None


class Function:
    """A Lambda function binary run against a RuntimeAPI (lambda_runtime.py), in its own
    process group; stdout (EMF lines) and stderr (diagnostics) go to files."""

    def __init__(self, name, rt, env):
        self.path = binary(name)
        self.rt = rt
        self.dir = cltest.mkdtemp("cl-%s-" % name)
        self.stdout_path = os.path.join(self.dir, "stdout")
        self.stderr_path = os.path.join(self.dir, "stderr")
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CLOUDLOG_"))}
        base["AWS_LAMBDA_RUNTIME_API"] = rt.address
        base.update(env)
        self.env = base
        self.proc = None

    def start(self):
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen([self.path], env=self.env, stdout=out, stderr=err,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        cltest._live_procs.append(self.proc)
        return self

    def wait_exit(self, timeout=30):
        return self.proc.wait(timeout=timeout)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def emf(self):
        """The EMF documents printed so far (one JSON object per stdout line)."""
        import json
        docs = []
        with open(self.stdout_path, "rb") as f:
            for line in f:
                line = line.strip()
                if line.startswith(b"{"):
                    doc = json.loads(line)
                    if "_aws" in doc:
                        docs.append(doc)
        return docs

    def metric_sum(self, name, label=None, value=None):
        """Sum of a metric's values over the EMF documents: the unlabelled ones, or those
        whose label dimension `label` (e.g. "StatusClass") is `value`."""
        total = 0
        for d in self.emf():
            names = [m["Name"] for dr in d["_aws"]["CloudWatchMetrics"] for m in dr["Metrics"]]
            if name not in names:
                continue
            if label is None and any(k in d for k in ("StatusClass", "Reason")):
                continue
            if label is not None and d.get(label) != value:
                continue
            v = d[name]
            total += sum(v) if isinstance(v, list) else v
        return total
