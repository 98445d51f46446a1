#!/usr/bin/env bash
# run_aws.sh - the AWS backends (SQS queue, S3 store) against moto in server mode, compared in
# the same run with the embedded backends (SQLite queue, local directory store), through the
# same interfaces (bench_backends, bench/backends.c).
#
# moto is slow Python on this same 2-core machine, so the AWS figures are NOT AWS throughput:
# read them as the client's overhead - CPU per request in our process, HTTP requests and
# connections opened (reuse) - and as a check that batching (10 messages per SQS call)
# works. moto answers every request with "Connection: close", so against moto directly each
# request opens a connection; the third run goes through tests/tools/faultproxy.py (no
# fault rules), which keeps client connections alive as AWS endpoints do, to show reuse. Every request is
# signed. The SQS moto verifies signatures (INITIAL_NO_AUTH_ACTION_COUNT=3, then an IAM
# user); S3 goes to a second moto without verification, because moto 5.2.1 checks S3
# signatures against a re-quoted path and query and so rejects correct signatures of
# listings with a '/' in the prefix (docs/aws.md).
#
# Environment overrides (defaults in brackets):
#   MESSAGES [2000]   MESSAGE_SIZE [16384] bytes   OBJECTS [200]   OBJECT_SIZE [1048576]
#   BUILD_DIR [build-release]   SKIP_BUILD [0]   READY_TIMEOUT [30] s
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${BUILD_DIR:-build-release}
SKIP_BUILD=${SKIP_BUILD:-0}
READY_TIMEOUT=${READY_TIMEOUT:-30}
MESSAGES=${MESSAGES:-2000}
MESSAGE_SIZE=${MESSAGE_SIZE:-16384}
OBJECTS=${OBJECTS:-200}
OBJECT_SIZE=${OBJECT_SIZE:-1048576}
# shellcheck source=bench/lib.sh
source bench/lib.sh

moto_pid=""
s3_moto_pid=""
stop_moto() {
    local pid=${!1}
    if alive "$pid"; then
        kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
}
sqs_proxy_pid=""
s3_proxy_pid=""
cleanup() {
    stop_moto sqs_proxy_pid
    stop_moto s3_proxy_pid
    stop_moto moto_pid
    stop_moto s3_moto_pid
    remove_tmp 0
}
set_traps
tmp=$(mktemp -d)

python3 -c 'import moto, boto3' 2>/dev/null ||
    die "moto/boto3 are not importable by $(command -v python3) (the machine image's Python has them)"
build bench_backends
BENCH="$BUILD_DIR/bench/bench_backends"
ARGS=(--messages "$MESSAGES" --message-size "$MESSAGE_SIZE" --objects "$OBJECTS"
      --object-size "$OBJECT_SIZE")

# start_moto VAR LOG [ENV=VALUE...]: moto on a free loopback port in its own process group
# (setsid, so cleanup stops it whole); its pid goes to VAR, its endpoint is printed.
start_moto() {
    local var=$1 mlog=$2 port i
    shift 2
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    env "$@" setsid moto_server -H 127.0.0.1 -p "$port" > "$mlog" 2>&1 &
    printf -v "$var" '%s' "$!"
    for ((i = 0; i < READY_TIMEOUT * 10; i++)); do
        curl -fsS --max-time 1 "http://127.0.0.1:$port/moto-api/" > /dev/null 2>&1 && break
        alive "${!var}" || { cat "$mlog" >&2; die "moto_server exited"; }
        sleep 0.1
    done
    endpoint="http://127.0.0.1:$port"
}
# start_proxy VAR UPSTREAM: the keep-alive fault proxy (no rules) in front of UPSTREAM; its
# pid goes to VAR, its endpoint to `endpoint`.
start_proxy() {
    local var=$1 pfile="$tmp/$1.port" i
    setsid python3 tests/tools/faultproxy.py --upstream "$2" --port-file "$pfile" \
        > "$tmp/$1.log" 2>&1 &
    printf -v "$var" '%s' "$!"
    for ((i = 0; i < READY_TIMEOUT * 10; i++)); do
        [[ -s "$pfile" ]] && break
        alive "${!var}" || { cat "$tmp/$1.log" >&2; die "faultproxy exited"; }
        sleep 0.1
    done
    endpoint="http://127.0.0.1:$(cat "$pfile")"
}
start_moto moto_pid "$tmp/moto.log" INITIAL_NO_AUTH_ACTION_COUNT=3
sqs_endpoint=$endpoint
start_moto s3_moto_pid "$tmp/moto-s3.log"
s3_endpoint=$endpoint
endpoint=$sqs_endpoint

# The three unauthenticated calls (IAM user, allow-all policy, key), then the resources,
# created with that key (signature-checked already).
read -r akid secret queue_url < <(E="$sqs_endpoint" S3="$s3_endpoint" python3 - <<'EOF'
import json, os, boto3
E = os.environ["E"]
kw = dict(endpoint_url=E, region_name="us-east-1")
iam = boto3.client("iam", aws_access_key_id="AKIDSETUP", aws_secret_access_key="setup", **kw)
iam.create_user(UserName="bench")
iam.put_user_policy(UserName="bench", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
k = iam.create_access_key(UserName="bench")["AccessKey"]
auth = dict(aws_access_key_id=k["AccessKeyId"], aws_secret_access_key=k["SecretAccessKey"], **kw)
boto3.client("s3", endpoint_url=os.environ["S3"], region_name="us-east-1",
             aws_access_key_id="x", aws_secret_access_key="y").create_bucket(Bucket="bench")
sqs = boto3.client("sqs", **auth)
dlq = sqs.create_queue(QueueName="bench-dlq")["QueueUrl"]
arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
q = sqs.create_queue(QueueName="bench", Attributes={"RedrivePolicy": json.dumps(
    {"deadLetterTargetArn": arn, "maxReceiveCount": "5"})})["QueueUrl"]
print(k["AccessKeyId"], k["SecretAccessKey"], q)
EOF
)
[[ -n "$queue_url" ]] || die "moto setup failed (log: $tmp/moto.log)"
export AWS_ACCESS_KEY_ID=$akid AWS_SECRET_ACCESS_KEY=$secret AWS_REGION=us-east-1
export AWS_ENDPOINT_URL_SQS=$sqs_endpoint
unset AWS_SESSION_TOKEN AWS_PROFILE

log "embedded: sqlite queue + local directory store"
"$BENCH" --label embedded --queue "sqlite:$tmp/queue.db" --store "file:$tmp/store" "${ARGS[@]}"
log "aws (moto): SQS queue (SigV4 verified) + S3 store"
"$BENCH" --label sqs+s3/moto --queue "$queue_url" \
    --store "s3://bench/objects?endpoint=$s3_endpoint&path_style=1&region=us-east-1" "${ARGS[@]}"
start_proxy sqs_proxy_pid "$sqs_endpoint"
sqs_proxy=$endpoint
start_proxy s3_proxy_pid "$s3_endpoint"
s3_proxy=$endpoint
log "aws (moto behind a keep-alive proxy): connection reuse"
AWS_ENDPOINT_URL_SQS=$sqs_proxy "$BENCH" --label sqs+s3/proxy --queue "$queue_url" \
    --store "s3://bench/objects?endpoint=$s3_proxy&path_style=1&region=us-east-1" "${ARGS[@]}"
