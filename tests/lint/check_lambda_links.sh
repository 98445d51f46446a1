#!/bin/sh
# The Lambda functions link only the backends they use (docs/pipeline.md, "Seams"): no
# SQLite, neither linked in (sqlite3_* symbols) nor needed as a shared library.
#   check_lambda_links.sh BINARY...   exit 0 when none carries SQLite, 1 naming those that do
set -eu
command -v nm > /dev/null && command -v readelf > /dev/null || { echo "no binutils" >&2; exit 77; }
rc=0
for bin in "$@"; do
  n=$(nm "$bin" 2> /dev/null | grep -c ' sqlite3_' || true)
  if [ "$n" -gt 0 ]; then
    echo "$bin: $n sqlite3_* symbols (a SQLite backend is linked in)" >&2
    rc=1
  fi
  if readelf -d "$bin" | grep -q 'NEEDED.*libsqlite3'; then
    echo "$bin: needs libsqlite3" >&2
    rc=1
  fi
done
exit "$rc"
