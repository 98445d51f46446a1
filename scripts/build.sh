#!/usr/bin/env bash
# Configures and builds one flavour of cloudlog: scripts/build.sh release|asan|fuzz
# Build trees: build-release, build-asan, build-fuzz (in the repository root).
set -euo pipefail
cd "$(dirname "$0")/.."

flavour="${1:-release}"
jobs="$(nproc)"
case "$flavour" in
  release) args=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan)    args=(-DCMAKE_BUILD_TYPE=Debug -DCL_SANITIZE=ON) ;;
  fuzz)    args=(-DCMAKE_BUILD_TYPE=Debug -DCL_FUZZ=ON -DCL_SANITIZE=ON -DCMAKE_C_COMPILER=clang) ;;
  *) echo "usage: $0 release|asan|fuzz" >&2; exit 2 ;;
esac
cmake -S . -B "build-$flavour" "${args[@]}" > /dev/null
cmake --build "build-$flavour" -j "$jobs"
