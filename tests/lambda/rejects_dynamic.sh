#!/bin/sh
# Shows that lambda.package_x86_64 can fail: packages the ordinary, dynamically linked
# build of the three functions (libcurl.so, libssl.so, ... from the system) the way
# scripts/lambda.sh does, and expects test_package.py to reject them, both in the ELF
# check and in the libc-only root file system (where the loader cannot find libcurl).
# Usage: rejects_dynamic.sh PYTHON3 LOG_INGESTOR LOG_PROCESSOR LOG_QUERY WORKDIR
set -eu
python="$1" ingestor="$2" processor="$3" query="$4" work="$5/lambda-rejects-dynamic"
here="$(cd "$(dirname "$0")" && pwd)"

rm -rf "$work"
mkdir -p "$work/dist"
for pair in "log_ingestor:$ingestor" "log_processor:$processor" "log_query:$query"; do
  fn="${pair%%:*}"
  mkdir -p "$work/stage-$fn"
  cp "${pair#*:}" "$work/stage-$fn/bootstrap"
  chmod 0755 "$work/stage-$fn/bootstrap"
  (cd "$work/stage-$fn" && zip -q -X "$work/dist/$fn-x86_64.zip" bootstrap)
done

status=0
CL_LAMBDA_DIST_DIR="$work/dist" "$python" "$here/test_package.py" x86_64 "$work" \
  > "$work/output.txt" 2>&1 || status=$?
cat "$work/output.txt"
if [ "$status" -eq 77 ]; then
  exit 77 # test_package.py skipped (tool or chroot right missing, CI unset)
fi
for expected in "FAIL: log_ingestor-x86_64: needs only glibc" \
  "FAIL: log_ingestor: init error names CLOUDLOG_QUEUE_URL"; do
  if ! grep -qF "$expected" "$work/output.txt"; then
    echo "rejects_dynamic: expected '$expected' in the output above"
    exit 1
  fi
done
if [ "$status" -ne 1 ]; then
  echo "rejects_dynamic: test_package.py exited $status for dynamic binaries, expected 1"
  exit 1
fi
echo "rejects_dynamic: the dynamically linked functions were rejected, as they must be"
