#!/bin/sh
# package.docker_runtime_libs: every shared library the built cloudlog binary needs comes
# from a Debian package that the Dockerfile's runtime stage installs (no container runtime
# here, so this is how a library added to the build without the image is caught).
# Usage: check_runtime_libs.sh DOCKERFILE CLOUDLOG_BINARY. Skips (77) without dpkg, objdump or ldd.
set -eu
dockerfile="$1" bin="$2"
for tool in dpkg objdump ldd; do
    if ! command -v "$tool" > /dev/null 2>&1; then
        echo "SKIP: $tool not found"
        [ "${CI:-}" = true ] && exit 1
        exit 77
    fi
done
# The runtime stage: everything after the last FROM.
runtime="$(awk '/^FROM /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$dockerfile")"
missing=0
# ldd gives the path each library is loaded from; dpkg -S names the package owning it
# (tried as given and as its real path, for merged /usr).
for lib in $(objdump -p "$bin" | awk '/NEEDED/{print $2}'); do
    path="$(ldd "$bin" | awk -v l="$lib" '$1 == l {print $3}')"
    pkg=""
    for p in "$path" "$(readlink -f "$path" 2>/dev/null || true)" "/usr$path"; do
        [ -n "$p" ] && pkg="$(dpkg -S "$p" 2>/dev/null | head -n 1 | cut -d: -f1)"
        [ -n "$pkg" ] && break
    done
    [ -n "$pkg" ] || { echo "FAIL: no Debian package provides $lib ($path)"; missing=1; continue; }
    # libc6 is in every Debian image.
    if [ "$pkg" != libc6 ] && ! printf '%s' "$runtime" | grep -qw -- "$pkg"; then
        echo "FAIL: $lib comes from $pkg, which the runtime stage does not install"
        missing=1
    else
        echo "ok: $lib <- $pkg"
    fi
done
exit "$missing"
