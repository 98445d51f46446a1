#!/usr/bin/env bash
# run_lambda.sh - issue 10's Lambda benchmark: cold start of the functions and the
# processing cost of the largest SQS event and of 10 x 256 KiB, against the embedded
# processor and a Python 3 equivalent, all in one run, and the ingestor's CPU work per
# record in C (bench_ingest_parse) and in Python (bench/lambda_py_ingestor.py) - the
# figures docs/performance.md's cost estimate uses.
#
# Usage: bench/run_lambda.sh [BUILD_DIR]     (default build-bench; SKIP_BUILD=1 to reuse it)
# When dist/ holds this machine's packages (scripts/lambda.sh), their bootstraps' cold
# starts are measured too: what Lambda runs (static but for glibc).
# The ingestor's cold start needs an SQS endpoint: it is measured when moto is importable
# (a moto server is started on a loopback port), else skipped with a note.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_DIR=${1:-build-bench}
SKIP_BUILD=${SKIP_BUILD:-0}
COLD_RUNS=${COLD_RUNS:-20}
# shellcheck source=bench/lib.sh
source bench/lib.sh
tmp=$(mktemp -d)
moto_pid=""
cleanup() {
    [[ -n "$moto_pid" ]] && kill "$moto_pid" 2>/dev/null && wait "$moto_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

build log_processor log_ingestor log_query bench_lambda_batch bench_ingest_parse

if python3 -c 'import moto, boto3' 2>/dev/null; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    python3 -m moto.server -H 127.0.0.1 -p "$port" > "$tmp/moto.log" 2>&1 &
    moto_pid=$!
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    LAMBDA_BENCH_QUEUE_URL=$(python3 -c "
import boto3
c = boto3.client('sqs', endpoint_url='http://127.0.0.1:$port', region_name='us-east-1',
                 aws_access_key_id='testing', aws_secret_access_key='testing')
print(c.create_queue(QueueName='bench')['QueueUrl'])")
    export LAMBDA_BENCH_QUEUE_URL
else
    log "moto not importable: the ingestor's cold start is not measured"
fi

# The packaged bootstraps too, when scripts/lambda.sh built them for this machine.
pkg=""
arch=$(uname -m)
[[ "$arch" == aarch64 ]] && arch=arm64
if [[ -f "dist/log_ingestor-$arch.zip" && -f "dist/log_processor-$arch.zip" ]]; then
    pkg=$tmp/pkg
    for fn in log_ingestor log_processor; do
        mkdir -p "$tmp/unzip-$fn" "$pkg"
        python3 -m zipfile -e "dist/$fn-$arch.zip" "$tmp/unzip-$fn"
        install -m 0755 "$tmp/unzip-$fn/bootstrap" "$pkg/$fn"
    done
fi

log "machine: $(nproc) cores, $(uname -m); build $BUILD_DIR${pkg:+; packaged: dist/*-$arch.zip}"
python3 bench/lambda_bench.py "$BUILD_DIR" "$tmp/work" "$COLD_RUNS" $pkg
# The ingestor's CPU work per record: the C stage (cl_ingest_parse, what log_ingestor runs)
# and a Python 3 stdlib equivalent, on the same record shape.
log "ingest stage per CPU-second: C (bench_ingest_parse, 20 MB in 32 KiB bodies) vs Python"
"$BUILD_DIR/bench/bench_ingest_parse" 20 32
python3 bench/lambda_py_ingestor.py 100000 100
