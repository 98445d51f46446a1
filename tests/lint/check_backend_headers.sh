#!/bin/sh
# No code above a backend names a backend (docs/pipeline.md, "Seams"): outside src/queue,
# src/store and src/aws, no file under src/ includes a backend header (queue_sqlite*.h,
# queue_sqs*.h, store_s3*.h, store_fs*.h). Code above asks the registries
# (cl_queue_backend_of, CL_STORE_BACKENDS) for capabilities instead.
#   check_backend_headers.sh ROOT         checks ROOT/src; exit 0 clean, 1 with the offenders
#   check_backend_headers.sh --self-test  shows that a planted offender fails the check
set -eu

pattern='^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"](queue_sqlite[^">]*|queue_sqs[^">]*|store_s3[^">]*|store_fs[^">]*)\.h[">]'

check() {
  root="$1"
  [ -d "$root/src" ] || { echo "check_backend_headers: no $root/src" >&2; return 2; }
  offenders=$(cd "$root" && find src -type f \( -name '*.c' -o -name '*.h' \) \
    ! -path 'src/queue/*' ! -path 'src/store/*' ! -path 'src/aws/*' -print |
    LC_ALL=C sort | while read -r f; do
      grep -HnE "$pattern" "$f" || true
    done)
  if [ -n "$offenders" ]; then
    echo "backend headers included above the backends (ask the registry instead):" >&2
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
  echo "self-test: ok"
  exit 0
fi

check "${1:-.}"
