#!/usr/bin/env bash
# First command of the README: set up, build, and run `cloudlog serve` on the embedded
# default (127.0.0.1:8080, data in ./data). Extra arguments go to `cloudlog serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release
exec build-release/cloudlog serve "$@"
