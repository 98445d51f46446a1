#!/bin/sh
# No code above a backend names a backend (docs/pipeline.md, "Seams"): outside src/queue,
# src/store and src/aws, no file under src/ includes a backend header (queue_sqlite*.h,
# queue_sqs*.h, store_s3*.h, store_fs*.h) or calls a backend's function by its name
# (cl_queue_sqlite_*, cl_queue_sqs_*, cl_store_s3_*, cl_store_fs_*: e.g. an integrity check
# or a salvage, which queue_repair.h offers behind the queue interface). Code above asks
# the registries (cl_queue_backend_of, CL_STORE_BACKENDS) or the interfaces instead.
#   check_backend_headers.sh ROOT         checks ROOT/src; exit 0 clean, 1 with the offenders
#   check_backend_headers.sh --self-test  shows that a planted offender fails the check
set -eu

pattern='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](queue_sqlite[^">]*|queue_sqs[^">]*|store_s3[^">]*|store_fs[^">]*)\.h[">]'
names='(^|[^A-Za-z0-9_])cl_(queue_sqlite|queue_sqs|store_s3|store_fs)_[A-Za-z0-9_]+'

check() {
  root="$1"
  [ -d "$root/src" ] || { echo "check_backend_headers: no $root/src" >&2; return 2; }
  offenders=$(cd "$root" && find src -type f \( -name '*.c' -o -name '*.h' \) \
    ! -path 'src/queue/*' ! -path 'src/store/*' ! -path 'src/aws/*' -print |
    LC_ALL=C sort | while read -r f; do
      grep -HnE "$pattern" "$f" || true
      grep -HnE "$names" "$f" || true
    done)
  if [ -n "$offenders" ]; then
    echo "backend headers or functions named above the backends (ask the registry or the" \
      "interface instead):" >&2
    echo "$offenders" >&2
    return 1
  fi
  return 0
}

if [ "${1:-}" = "--self-test" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/src/queue" "$tmp/src/cli"
  printf '#include "queue_sqlite.h"\n' > "$tmp/src/queue/queue.c"
  printf '#include "queue.h"\n' > "$tmp/src/cli/ok.c"
  check "$tmp" || { echo "self-test: a clean tree failed" >&2; exit 1; }
  printf '#include "store_s3_int.h"\n' > "$tmp/src/cli/bad.c"
  if check "$tmp" 2>/dev/null; then
    echo "self-test: a planted offender passed" >&2
    exit 1
  fi
  rm "$tmp/src/cli/bad.c"
  printf 'int f(struct cl_queue *q) { return cl_queue_sqlite_integrity(q, 1, 0, 0); }\n' \
    > "$tmp/src/cli/bad.c"
  if check "$tmp" 2>/dev/null; then
    echo "self-test: a planted backend function call passed" >&2
    exit 1
  fi
  echo "self-test: ok"
  exit 0
fi

check "${1:-.}"
