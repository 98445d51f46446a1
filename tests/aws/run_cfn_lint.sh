#!/bin/sh
# cfn-lint (with the SAM transform) must report nothing for the template, and must report
# the errors planted in a broken copy of it (so this test can fail).
# Usage: run_cfn_lint.sh TEMPLATE. Exit 77 when cfn-lint is missing (1 when CI=true).
set -u
template="$1"
if ! command -v cfn-lint >/dev/null 2>&1; then
    if [ "${CI:-}" = true ]; then
        echo "FAIL: cfn-lint not found (CI=true: required; it is in the pyenv python3's tools)"
        exit 1
    fi
    echo "SKIP: cfn-lint not found on PATH (scripts/setup.sh installs it with pip when a" \
        "Python package index is reachable)"
    exit 77
fi
cfn-lint --version

broken="${CL_TMPDIR:-${TMPDIR:-/tmp}}/broken-template-$$.yaml"
trap 'rm -f "$broken"' EXIT INT TERM
sed -e 's/^      Timeout: 60$/      Timeout: 1000/' "$template" >"$broken"
if ! grep -q '^      Timeout: 1000$' "$broken"; then
    echo "FAIL: could not plant the error (no processor 'Timeout: 60' line in $template)"
    exit 1
fi
if out="$(cfn-lint --format parseable -- "$broken" 2>&1)"; then
    echo "FAIL: cfn-lint accepted a processor Timeout of 1000 s (> 900, > visibility timeout)"
    exit 1
fi
echo "ok: cfn-lint rejects the broken copy: $(echo "$out" | head -n 1)"

out="$(cfn-lint --format parseable -- "$template" 2>&1)"
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
    echo "$out"
    echo "FAIL: cfn-lint exit $rc on $template (errors and warnings must both be fixed)"
    exit 1
fi
echo "PASS: cfn-lint reports nothing for $template"
