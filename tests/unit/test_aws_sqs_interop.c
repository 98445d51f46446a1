/* test_aws_sqs_interop.c - the SQS queue backend with other parts of AWS: the oldest
 * message's age from CloudWatch, messages exchanged with the official awscli, and
 * redrive-all through StartMessageMoveTask (a scripted loopback SQS). */
#include "codec.h"
#include "common.h"
#include "moto_test.h"
#include "sqs_test_util.h"
#include "queue.h"
#include "sqs.h"
#include "message.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* oldest=cloudwatch: stats read ApproximateAgeOfOldestMessage with GetMetricData (moto
 * does not publish SQS metrics, so the test puts the datapoint AWS would). */
static void test_oldest_from_cloudwatch(void **state)
{
    NEED_MOTO();
    char out[512] = "";
    const char *py =
        "client('cloudwatch').put_metric_data(Namespace='AWS/SQS', MetricData=[{'MetricName':\n"
        "  'ApproximateAgeOfOldestMessage', 'Dimensions': [{'Name': 'QueueName',\n"
        "  'Value': 'cw'}], 'Value': 120.0, 'Unit': 'Seconds'}])\n";
    assert_int_equal(cl_moto_python(&cl_sqs_fx.moto, cl_sqs_fx.tmpdir, py, out, sizeof out), 0);
    struct cl_queue q;
    cl_sqs_open_at(&q, cl_sqs_fx.moto.port, "cw", "&oldest=cloudwatch");
    struct cl_queue_stats st;
    int64_t now = cl_now_ms();
    assert_int_equal(cl_queue_stats(&q, &st), CL_OK);
    /* 120 s before the call, give or take the test's own run time */
    assert_true(st.oldest_ms <= now - 110000 && st.oldest_ms >= now - 600000);
    cl_queue_close(&q);
    /* The same asked through the options (what `cloudlog status` does). */
    char url[256], err[512] = "";
    snprintf(url, sizeof url, "sqs://cw?endpoint=http://127.0.0.1:%d", cl_sqs_fx.moto.port);
    struct cl_queue_opts o;
    cl_queue_opts_default(&o);
    o.stats_oldest = 1;
    assert_int_equal(cl_queue_open(&q, url, &o, err, sizeof err), CL_OK);
    assert_int_equal(cl_queue_stats(&q, &st), CL_OK);
    assert_true(st.oldest_ms <= now - 110000 && st.oldest_ms >= now - 600000);
    cl_queue_close(&q);
    cl_sqs_open_q(&q, "basic"); /* no datapoint for this queue, and not asked anyway */
    assert_int_equal(cl_queue_stats(&q, &st), CL_OK);
    assert_int_equal(st.oldest_ms, 0);
    cl_queue_close(&q);
}

/* The official CLI (awscli v1) against the same moto: a helper snippet that runs `aws sqs`
 * for one direction. */
static const char cli_py[] =
    "import base64, gzip, subprocess\n"
    "def aws(*a):\n"
    "    return json.loads(subprocess.check_output(['aws', '--endpoint-url', E, '--region',\n"
    "        'us-east-1', '--output', 'json', 'sqs'] + list(a), timeout=60) or b'{}')\n"
    "u=aws('get-queue-url', '--queue-name', 'cli')['QueueUrl']\n"
    "if os.environ['CL_DIR'] == 'receive':\n"
    "    m=aws('receive-message', '--queue-url', u, '--message-attribute-names', 'All',\n"
    "          '--wait-time-seconds', '5')['Messages'][0]\n"
    "    sys.stdout.write(gzip.decompress(base64.b64decode(m['Body'], validate=True)).decode())\n"
    "    for k, v in sorted(m['MessageAttributes'].items()):\n"
    "        print(k, v['DataType'], v['StringValue'])\n"
    "    aws('delete-message', '--queue-url', u, '--receipt-handle', m['ReceiptHandle'])\n"
    "else:\n"
    "    "
    "b=base64.b64encode(gzip.compress(b'{\"cli\":1}\\n{\"cli\":2}\\n{\"cli\":3}\\n')).decode()\n"
    "    a={'count': ('Number', '3'), 'raw_bytes': ('Number', '30'),\n"
    "       'min_ts_ms': ('Number', '1764000000000'), 'max_ts_ms': ('Number', '1764000000999'),\n"
    "       'encoding': ('String', 'gzip')}\n"
    "    aws('send-message', '--queue-url', u, '--message-body', b, '--message-attributes',\n"
    "        json.dumps({k: {'DataType': t, 'StringValue': v} for k, (t, v) in a.items()}))\n"
    "    print('sent')\n";

static void run_cli(const char *direction, char *out, size_t len)
{
    setenv("CL_DIR", direction, 1);
    int rc = cl_moto_python(&cl_sqs_fx.moto, cl_sqs_fx.tmpdir, cli_py, out, len);
    if (rc != 0)
        fail_msg("aws cli (%s) failed (%d): %s", direction, rc, out);
}

static void test_awscli_interop(void **state)
{
    NEED_MOTO();
    if (system("aws --version >/dev/null 2>&1") != 0) {
        const char *ci = getenv("CI");
        if (ci && strcmp(ci, "true") == 0)
            fail_msg("aws (awscli v1) not on PATH (required when CI=true)");
        print_message("SKIPPED: aws (awscli v1) not on PATH (scripts/setup.sh installs it with "
                      "pip when a Python package index is reachable)\n");
        skip();
    }
    struct cl_queue q;
    cl_sqs_open_q(&q, "cli");
    /* ours -> CLI: base64 -> gzip NDJSON, attributes as message.h names them */
    const char ndjson[] = "{\"n\":1,\"msg\":\"caf\xc3\xa9\"}\n{\"n\":2}\n";
    struct cl_buf gz;
    cl_buf_init(&gz, 1 << 20);
    assert_int_equal(cl_gzip_compress(ndjson, strlen(ndjson), 1, &gz), CL_OK);
    struct cl_msg_out m = {gz.data, gz.len, {2, strlen(ndjson), -5, 1764000000123, "gzip"}};
    assert_int_equal(cl_queue_send(&q, &m, 1), CL_OK);
    char out[4096], want[1024];
    run_cli("receive", out, sizeof out);
    snprintf(want, sizeof want,
             "%scount Number 2\nencoding String gzip\nmax_ts_ms Number 1764000000123\n"
             "min_ts_ms Number -5\nraw_bytes Number %zu\n",
             ndjson, strlen(ndjson));
    assert_string_equal(out, want);
    cl_buf_free(&gz);

    /* CLI -> ours */
    run_cli("send", out, sizeof out);
    struct cl_msg *r;
    assert_int_equal(cl_sqs_receive_n(&q, 1, 60, &r), 1);
    struct cl_buf plain;
    cl_buf_init(&plain, 1 << 20);
    assert_int_equal(cl_gzip_decompress(r[0].body, r[0].len, &plain), CL_OK);
    assert_string_equal(plain.data, "{\"cli\":1}\n{\"cli\":2}\n{\"cli\":3}\n");
    assert_int_equal(r[0].attrs.record_count, 3);
    assert_int_equal(r[0].attrs.raw_bytes, 30);
    assert_int_equal(r[0].attrs.min_ts_ms, 1764000000000LL);
    assert_int_equal(r[0].attrs.max_ts_ms, 1764000000999LL);
    assert_string_equal(r[0].attrs.encoding, "gzip");
    assert_null(r[0].last_error);
    const char *rc0 = r[0].receipt;
    int res;
    assert_int_equal(cl_queue_delete(&q, &rc0, 1, &res), CL_OK);
    cl_buf_free(&plain);
    cl_msgs_free(r, 1);
    cl_sqs_assert_empty(&q);
    cl_queue_close(&q);
}

/* Where SQS offers StartMessageMoveTask, redrive-all uses it: a scripted loopback SQS
 * (no signature checks) answers the calls and records the task request. */
static const char fake_sqs_py[] =
    "import http.server, threading\n"
    "A='arn:aws:sqs:us-east-1:123456789012:'\n"
    "seen=[]\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_POST(self):\n"
    "        op=self.headers.get('X-Amz-Target', '').split('.')[-1]\n"
    "        req=json.loads(self.rfile.read(int(self.headers['Content-Length'])))\n"
    "        seen.append((op, req))\n"
    "        u='http://127.0.0.1:%d/123456789012/' % self.server.server_port\n"
    "        if op == 'GetQueueAttributes' and req['QueueUrl'].endswith('/main'):\n"
    "            r={'Attributes': {'QueueArn': A+'main', 'MaximumMessageSize': '262144',\n"
    "               'RedrivePolicy': json.dumps({'deadLetterTargetArn': A+'dead',\n"
    "                                            'maxReceiveCount': 3})}}\n"
    "        elif op == 'GetQueueAttributes':\n"
    "            r={'Attributes': {'ApproximateNumberOfMessages': '7',\n"
    "               'ApproximateNumberOfMessagesNotVisible': '0'}}\n"
    "        elif op == 'GetQueueUrl':\n"
    "            r={'QueueUrl': u+req['QueueName']}\n"
    "        elif op == 'StartMessageMoveTask':\n"
    "            r={'TaskHandle': 'task-1'}\n"
    "        else:\n"
    "            r=None\n"
    "        b=json.dumps(r if r is not None else {'__type': 'UnexpectedCall'}).encode()\n"
    "        self.send_response(200 if r is not None else 400)\n"
    "        self.send_header('Content-Type', 'application/x-amz-json-1.0')\n"
    "        self.send_header('Content-Length', str(len(b)))\n"
    "        self.end_headers()\n"
    "        self.wfile.write(b)\n"
    "    def log_message(self, *a):\n"
    "        pass\n"
    "s=http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
    "print(s.server_port, flush=True)\n"
    "threading.Thread(target=s.serve_forever, daemon=True).start()\n"
    "sys.stdin.read()\n" /* until the test closes the pipe */
    "print(json.dumps(seen), flush=True)\n";

static void test_redrive_move_task(void **state)
{
    NEED_MOTO(); /* for python3 and the key in the environment */
    char path[600], cmd[700];
    snprintf(path, sizeof path, "%s/fake_sqs_%d.py", cl_sqs_fx.tmpdir, (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "import json, sys\n%s", fake_sqs_py);
    fclose(f);
    int to_py[2], from_py[2];
    assert_int_equal(pipe(to_py), 0);
    assert_int_equal(pipe(from_py), 0);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        dup2(to_py[0], 0);
        dup2(from_py[1], 1);
        close(to_py[1]);
        close(from_py[0]);
        snprintf(cmd, sizeof cmd, "%s", path);
        execlp("timeout", "timeout", "60", "python3", cmd, (char *)NULL);
        _exit(127);
    }
    struct cl_moto fake = {pid, 0};
    close(to_py[0]);
    close(from_py[1]);
    FILE *in = fdopen(from_py[0], "r");
    assert_int_equal(fscanf(in, "%d", &fake.port), 1);
    char url[256], err[512] = "";
    snprintf(url, sizeof url, "http://127.0.0.1:%d/123456789012/main", fake.port);
    struct cl_queue q;
    assert_int_equal(cl_queue_open(&q, url, NULL, err, sizeof err), CL_OK);
    size_t moved = 0;
    assert_int_equal(cl_queue_dlq_redrive(&q, NULL, 0, &moved), CL_OK);
    assert_int_equal(moved, 7); /* the DLQ's depth: the task moves them in the background */
    cl_queue_close(&q);
    close(to_py[1]); /* the fake prints the calls it saw and exits */
    static char seen[16384];
    size_t n = fread(seen, 1, sizeof seen - 1, in);
    seen[n] = '\0';
    fclose(in);
    cl_moto_stop(&fake);
    unlink(path);
    const char *want = "[\"StartMessageMoveTask\", {\"SourceArn\": "
                       "\"arn:aws:sqs:us-east-1:123456789012:dead\", \"DestinationArn\": "
                       "\"arn:aws:sqs:us-east-1:123456789012:main\"}]";
    if (!strstr(seen, want))
        fail_msg("no StartMessageMoveTask from the DLQ to the queue among: %s", seen);
    assert_null(strstr(seen, "ReceiveMessage")); /* no fallback */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_oldest_from_cloudwatch),
        cmocka_unit_test(test_awscli_interop),
        cmocka_unit_test(test_redrive_move_task),
    };
    return cmocka_run_group_tests(tests, cl_sqs_group_setup, cl_sqs_group_teardown);
}
