#!/usr/bin/env bash
# Second command of the README: set up, build, and pass every test — once on the
# optimized build, once under AddressSanitizer + UndefinedBehaviorSanitizer, and a short
# libFuzzer run of each fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The Python test tools' virtualenv, when setup.sh had to make one (the tests run python3).
if [ -x /opt/cloudlog-pytools/bin/python3 ]; then
  export PATH="/opt/cloudlog-pytools/bin:$PATH"
fi

run_suite() {
  local flavour="$1"; shift
  echo "=== tests: $flavour build ==="
  scripts/build.sh "$flavour"
  (cd "build-$flavour" && ctest --output-on-failure -j 2 --timeout 900 "$@")
}

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
run_suite release
run_suite asan
run_suite fuzz -R '^fuzz[.]'
