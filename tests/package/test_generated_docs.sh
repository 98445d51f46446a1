#!/bin/bash
# package.generated_docs: the man page (cloudlog help --man) and the bash completion
# (cloudlog help --completions bash) list every option of every command, and the checked-in
# deploy/completions/cloudlog.bash is the generator's current output.
# Usage: test_generated_docs.sh SOURCE_DIR CLOUDLOG_BINARY
set -euo pipefail
src="$1" bin="$2"
man="$("$bin" help --man)"
comp="$("$bin" help --completions bash)"
if ! diff <(printf '%s\n' "$comp") "$src/deploy/completions/cloudlog.bash" > /dev/null; then
    echo "FAIL: deploy/completions/cloudlog.bash is stale: run"
    echo "  cloudlog help --completions bash > deploy/completions/cloudlog.bash"
    exit 1
fi
checked=0
for cmd in serve status query tail partitions "dlq list" "dlq show" "dlq redrive" alarms \
    verify "patterns learn"; do
    # shellcheck disable=SC2086 # cmd is one or two words
    opts="$("$bin" $cmd --help | sed -n 's/^  \(--[a-z0-9][a-z0-9-]*\).*/\1/p')"
    [ -n "$opts" ] || { echo "FAIL: cloudlog $cmd --help lists no options"; exit 1; }
    for o in $opts; do
        name="${o#--}"
        if ! grep -q -- "\\\\-\\\\-${name//-/\\\\-}" <<< "$man"; then
            echo "FAIL: the man page lacks $o of cloudlog $cmd"
            exit 1
        fi
        if ! grep -q -- "\"$cmd\" | \"$cmd \"\\*) words=\".*$o[ \"]" <<< "$comp"; then
            echo "FAIL: the completion lacks $o for cloudlog $cmd"
            exit 1
        fi
        checked=$((checked + 1))
    done
done
# the test can fail: a missing option is noticed
if grep -q -- '\\-\\-no\\-such\\-option' <<< "$man"; then echo "FAIL: bad probe"; exit 1; fi
command -v groff > /dev/null && { groff -man -Tutf8 -ww <<< "$man" > /dev/null 2> /tmp/groff.$$ || true
    if [ -s /tmp/groff.$$ ]; then echo "FAIL: groff warns:"; cat /tmp/groff.$$; rm -f /tmp/groff.$$; exit 1; fi
    rm -f /tmp/groff.$$; }
echo "ok: $checked options in the man page and the completion; completion file current"
