#!/bin/sh
# package.systemd_unit: renders deploy/systemd/cloudlog.service.in with the build tree's
# binary and checks it with `systemd-analyze verify` (syntax, directives, executable) and
# `systemd-analyze security --offline` (hardening: exposure at most 2.0 of 10).
# Usage: test_unit.sh SOURCE_DIR BINARY_DIR WORK_DIR. Skips (77) without systemd-analyze.
set -eu
src="$1" bindir="$2" work="$3/unit-verify"
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIP: systemd-analyze not found (Debian package systemd; scripts/setup.sh installs it)"
    [ "${CI:-}" = true ] && exit 1
    exit 77
fi
rm -rf "$work" && mkdir -p "$work"
cmake -DIN="$src/deploy/systemd/cloudlog.service.in" -DOUT="$work/cloudlog.service" \
    -DCL_BINDIR="$bindir" -DCL_ENV_FILE="$work/env" -P "$src/cmake/render_unit.cmake"
# --man=no: the man page is not installed from a build tree (the .deb test checks it).
systemd-analyze verify --man=no "$work/cloudlog.service"
systemd-analyze security --offline=yes --threshold=20 "$work/cloudlog.service" > "$work/security.txt"
grep 'Overall exposure level' "$work/security.txt"
echo "ok: unit verified, hardened"
