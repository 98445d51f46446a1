#!/bin/bash
# package.bash_completion: deploy/completions/cloudlog.bash completes commands, a command's
# options and dlq's subcommands from the binary's own --help.
# Usage: test_completion.sh SOURCE_DIR CLOUDLOG_BINARY
set -euo pipefail
src="$1" bin="$2"
# shellcheck source=/dev/null
source "$src/deploy/completions/cloudlog.bash"
complete_words() { # WORDS...: completes the last word, prints the candidates
    COMP_WORDS=("$bin" "$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _cloudlog
    printf '%s\n' "${COMPREPLY[@]}"
}
expect() { # WANT WORDS...
    local want="$1" got
    shift
    got="$(complete_words "$@")"
    if ! grep -x -- "$want" <<< "$got" > /dev/null; then
        echo "FAIL: completing '$*' does not offer '$want' (got: $(tr '\n' ' ' <<< "$got"))"
        exit 1
    fi
}
expect serve se
expect query q
expect --version --ver
expect --listen serve --li
expect --tls-client-ca serve --tls-c
expect --since query --si
expect redrive dlq re
expect --help dlq list --he
# a wrong expectation must fail (the test can fail)
if (expect --nonexistent serve --no) > /dev/null; then echo "FAIL: expect accepted a missing option"; exit 1; fi
echo "ok: commands, options and subcommands complete"
