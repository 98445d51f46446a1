#!/bin/sh
# Grafana's LogQL grammar (npm @grafana/lezer-logql, pinned by package-lock.json and
# installed by scripts/setup.sh into tests/logql/node_modules) parses every query of
# queries.txt, and reports an error for a broken one (so this test can fail).
# Usage: run_lezer.sh. Exit 77 when Node or the package is missing (1 when CI=true).
set -u
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../tools/need_node_module.sh"
need_node_module "$here" @grafana/lezer-logql

bad="$(mktemp)"
trap 'rm -f "$bad"' EXIT
printf 'ok\t{service="api" | json\n' >"$bad"
node "$here/check_lezer.mjs" "$bad" >/dev/null
if [ $? -ne 1 ]; then
    echo "FAIL: lezer-logql accepted a selector without its closing brace"
    exit 1
fi
node "$here/check_lezer.mjs" "$here/queries.txt" || { echo "FAIL: lezer-logql errors"; exit 1; }
echo "PASS: lezer-logql parses every query of queries.txt"
