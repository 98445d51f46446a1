#!/usr/bin/env bash
# Installs the Debian packages cloudlog needs to build, run and test.
# Idempotent: installs only what is missing, and runs apt-get update only then.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake pkg-config clang clang-format libclang-rt-14-dev
  # libraries
  libmicrohttpd-dev libsqlite3-dev zlib1g-dev libdeflate-dev libisal-dev libssl-dev
  libpcre2-dev
  # tests and benchmarks
  libcmocka-dev libjansson-dev libjson-c-dev python3 sqlite3 valgrind
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
echo "setup: installing ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
