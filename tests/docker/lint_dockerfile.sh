#!/bin/sh
# lint.dockerfile: dockerfile-utils (npm, pinned by tests/docker/package-lock.json; installed by
# scripts/setup.sh) must report nothing, and check_dockerfile.py checks the image's own rules.
# No container runtime exists here, so the image itself is never built in a test.
# Usage: lint_dockerfile.sh SOURCE_DIR PYTHON3. Skips (77) without the npm module, unless CI=true.
set -eu
src="$1" python="$2"
lint="$src/tests/docker/node_modules/.bin/dockerfile-utils"
if [ ! -x "$lint" ] || ! command -v node > /dev/null 2>&1; then
    echo "SKIP: dockerfile-utils not installed (run scripts/setup.sh: npm ci in tests/docker)"
    [ "${CI:-}" = true ] && exit 1
    exit 77
fi
out="$("$lint" lint "$src/Dockerfile" 2>&1)" || { echo "$out"; exit 1; }
# dockerfile-utils exits 0 on warnings: any diagnostic fails the test.
if [ -n "$out" ]; then
    echo "$out"
    echo "FAIL: dockerfile-utils reported the diagnostics above"
    exit 1
fi
echo "ok: dockerfile-utils reports nothing"
"$python" "$src/tests/docker/check_dockerfile.py" "$src/Dockerfile"

# Both checks must fail on broken copies (so this test can fail): a duplicate ENTRYPOINT
# for dockerfile-utils, a root USER and no health check for the image's rules.
broken="${CL_TMPDIR:-${TMPDIR:-/tmp}}/broken-dockerfile-$$"
trap 'rm -f "$broken"' EXIT INT TERM
{ cat "$src/Dockerfile"; echo 'ENTRYPOINT ["/bin/sh"]'; } > "$broken"
if [ -z "$("$lint" lint "$broken" 2>&1)" ]; then
    echo "FAIL: dockerfile-utils found nothing wrong with a second ENTRYPOINT"
    exit 1
fi
sed -e 's/^USER .*/USER root/' -e '/^HEALTHCHECK/,/healthz/d' "$src/Dockerfile" > "$broken"
if "$python" "$src/tests/docker/check_dockerfile.py" "$broken" > /dev/null; then
    echo "FAIL: check_dockerfile.py accepted a root USER without HEALTHCHECK"
    exit 1
fi
echo "ok: both checks reject broken copies"
