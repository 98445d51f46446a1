#!/bin/bash
# package.deb: builds the .deb with CPack from the build tree, installs it into the real
# system with `dpkg -i`, runs the installed binary (`cloudlog --version`, `cloudlog serve
# --help`), checks the files it put down (unit verified by systemd-analyze, man page,
# completion, environment file) and removes it with `dpkg -r` then purges its conffile.
# The trap removes the package on any failure too, so the system is left as found.
# Usage: test_deb.sh BINARY_DIR. Needs root (dpkg -i): skips (77) otherwise, unless CI=true.
set -euo pipefail
build="$1"
skip() {
    echo "SKIP: $*"
    [ "${CI:-}" = true ] && { echo "FAIL: CI=true does not allow skipping"; exit 1; }
    exit 77
}
[ "$(id -u)" -eq 0 ] || skip "installing a .deb needs root (run ctest as root)"
command -v dpkg-shlibdeps >/dev/null || skip "dpkg-shlibdeps missing (Debian package dpkg-dev)"
# One package test at a time on this machine (the package name is global).
exec 9> /tmp/cloudlog-deb-test.lock
flock -w 600 9 || { echo "FAIL: another package test holds the lock"; exit 1; }
if dpkg-query -W -f='${Status}' cloudlog 2>/dev/null | grep 'ok installed' > /dev/null; then
    skip "a cloudlog package is already installed on this system; not replacing it"
fi

work="$(mktemp -d "$build/deb-test.XXXXXX")"
installed=0
cleanup() {
    if [ "$installed" -eq 1 ]; then
        dpkg -r cloudlog > /dev/null || true
        dpkg --purge cloudlog > /dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work" > "$work/cpack.log" 2>&1 ||
    { cat "$work/cpack.log"; exit 1; }
deb="$(ls "$work"/cloudlog_*.deb)"
echo "built $(basename "$deb")"
dpkg-deb --field "$deb" Package Version Architecture Depends
dpkg-deb --field "$deb" Depends | grep libmicrohttpd > /dev/null ||
    { echo "FAIL: Depends does not name libmicrohttpd (shlibdeps)"; exit 1; }

installed=1
dpkg -i "$deb"
test "$(command -v cloudlog)" = /usr/bin/cloudlog
cloudlog --version | grep -x "cloudlog [0-9][0-9.]*" > /dev/null
cloudlog --version
cloudlog serve --help | grep -- "--listen " > /dev/null # the front runs the full binary:
test -x /usr/libexec/cloudlog/cloudlog
for f in /usr/lib/systemd/system/cloudlog.service /etc/default/cloudlog \
    /usr/share/man/man1/cloudlog.1.gz /usr/share/man/man1/cloudlog-serve.1.gz \
    /usr/share/bash-completion/completions/cloudlog; do
    test -f "$f" || { echo "FAIL: $f not installed"; exit 1; }
done
grep -qx 'ExecStart=/usr/bin/cloudlog serve' /usr/lib/systemd/system/cloudlog.service
grep -qx 'EnvironmentFile=-/etc/default/cloudlog' /usr/lib/systemd/system/cloudlog.service
if command -v systemd-analyze >/dev/null; then
    # Documentation=man:cloudlog-serve(1) is checked when a man command exists.
    man_check=--man=no
    command -v man > /dev/null && man_check=--man=yes
    systemd-analyze verify "$man_check" /usr/lib/systemd/system/cloudlog.service
fi

dpkg -r cloudlog
test ! -e /usr/bin/cloudlog || { echo "FAIL: /usr/bin/cloudlog left after dpkg -r"; exit 1; }
dpkg --purge cloudlog
installed=0
test ! -e /etc/default/cloudlog || { echo "FAIL: /etc/default/cloudlog left after purge"; exit 1; }
echo "ok: built, installed, ran, removed"
