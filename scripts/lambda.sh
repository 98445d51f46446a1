#!/usr/bin/env bash
# Builds the AWS Lambda packages (docs/lambda.md, "Packaging"):
#   scripts/lambda.sh [x86_64|arm64|all]        (default: all)
# produces dist/log_ingestor-<arch>.zip, dist/log_processor-<arch>.zip and
# dist/log_query-<arch>.zip, each holding one
# stripped executable named `bootstrap` (mode 0755) for the provided.al2023 runtime. The
# executables link every library but glibc statically; tests/lambda/ checks that they need
# nothing but glibc <= 2.34 and that they run in a root file system holding only libc.
#
# Debian ships no usable static libcurl (its libcurl.a needs krb5, ldap, ... archives that
# Debian does not ship) and no static ISA-L, so both are built here from Debian's own source
# packages, once per architecture, into a cache (build-pkg-deps/<arch>/prefix) that later
# runs reuse. Build trees: build-pkg-deps (sources, caches), build-pkg-<arch> (cloudlog).
# The other archives (OpenSSL, zlib, libdeflate, SQLite, expat, PCRE2) come from Debian's -dev
# packages, for arm64 as :arm64 packages (scripts/setup.sh installs both).
#
# Environment: CL_LAMBDA_DEPS_DIR (cache dir), CL_LAMBDA_DIST_DIR (output dir), JOBS.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
DEPS="${CL_LAMBDA_DEPS_DIR:-$ROOT/build-pkg-deps}"
DIST="${CL_LAMBDA_DIST_DIR:-$ROOT/dist}"
JOBS="${JOBS:-2}"
FUNCTIONS=(log_ingestor log_processor log_query)
# Where Amazon Linux 2023 keeps its CA bundle: libcurl's compiled-in default for HTTPS.
AL2023_CA_BUNDLE=/etc/pki/tls/certs/ca-bundle.crt

die() { echo "lambda.sh: $*" >&2; exit 1; }
log() { echo "lambda.sh: $*"; }

# Runs a build step quietly into a log file; shows the log's tail when it fails.
run_logged() {
  local logfile="$1"; shift
  if ! "$@" > "$logfile" 2>&1; then
    tail -n 40 "$logfile" >&2
    die "failed: $* (full log: $logfile)"
  fi
}

triplet_of() {
  case "$1" in
    x86_64) echo x86_64-linux-gnu ;;
    arm64) echo aarch64-linux-gnu ;;
    *) die "unknown architecture '$1' (x86_64|arm64|all)" ;;
  esac
}

# The newest version of a Debian source package that apt knows (the one `apt-get source`
# fetches, matching the patch level of the binary packages setup.sh installs).
newest_source_version() {
  apt-cache showsrc "$1" 2>/dev/null | awk '/^Version:/ {print $2}' | sort -V | tail -n 1
}

# Downloads and unpacks one Debian source package into $DEPS/src/<dir> (patches applied),
# once; a newer Debian version replaces it. Serialized with flock: both architectures'
# builds may run at once (ctest -j2).
fetch_source() {
  local name="$1" dir="$2" version
  version="$(newest_source_version "$name")"
  [ -n "$version" ] || die "no source package $name: is deb-src enabled (scripts/setup.sh)?"
  mkdir -p "$DEPS/src"
  (
    flock 9
    if [ "$(cat "$DEPS/src/$dir.version" 2>/dev/null)" = "$name $version" ]; then
      exit 0
    fi
    log "fetching Debian source $name $version"
    rm -rf "${DEPS:?}/src/$dir" "$DEPS/src/$dir.version"
    cd "$DEPS/src"
    # A mirror hiccup should not fail a CI run: three tries.
    local try
    for try in 1 2 3; do
      apt-get source -qq --download-only "$name=$version" > "$DEPS/src/$dir.fetch.log" 2>&1 &&
        break
      [ "$try" -lt 3 ] || { tail -n 20 "$DEPS/src/$dir.fetch.log" >&2; die "apt-get source $name failed"; }
      sleep 5
    done
    run_logged "$DEPS/src/$dir.unpack.log" dpkg-source -x --skip-debianization \
      "${name}_${version#*:}.dsc" "$dir"
    # Debian's patches touch configure.ac and Makefile.am, as Debian's own build does.
    run_logged "$DEPS/src/$dir.autoreconf.log" autoreconf -fi "$DEPS/src/$dir"
    echo "$name $version" > "$DEPS/src/$dir.version"
  ) 9> "$DEPS/src/.lock"
}

# configure + make install of one autotools source into the architecture's prefix, skipped
# when the stamp says this source version was built with these options already.
build_autotools() {
  local dir="$1" arch="$2"; shift 2
  local triplet prefix build stamp want
  triplet="$(triplet_of "$arch")"
  prefix="$DEPS/$arch/prefix"
  build="$DEPS/$arch/build-$dir"
  stamp="$prefix/.$dir.stamp"
  want="$(cat "$DEPS/src/$dir.version") $*"
  if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  log "building static $dir for $arch (cached in $prefix)"
  rm -rf "$build"
  mkdir -p "$build" "$prefix"
  local cross=()
  if [ "$arch" != x86_64 ]; then
    cross=(--host="$triplet" CC="$triplet-gcc" AR="$triplet-ar" RANLIB="$triplet-ranlib"
      PKG_CONFIG_LIBDIR="/usr/lib/$triplet/pkgconfig:/usr/share/pkgconfig")
  fi
  (
    cd "$build"
    run_logged "$build/configure.log" "$DEPS/src/$dir/configure" --prefix="$prefix" \
      --libdir="$prefix/lib" --disable-shared --enable-static "${cross[@]}" "$@"
    run_logged "$build/make.log" make -j "$JOBS"
    run_logged "$build/install.log" make install
  )
  echo "$want" > "$stamp"
}

# libcurl with HTTP/HTTPS only (OpenSSL, zlib): nothing that needs a library Debian ships
# only as a shared object (gssapi, ldap, idn2, psl, ssh, rtmp, nghttp2, brotli, zstd).
build_curl() {
  build_autotools curl "$1" \
    --with-openssl --with-zlib --without-gssapi --without-libidn2 --without-libpsl \
    --without-libssh2 --without-libssh --without-librtmp --without-nghttp2 \
    --without-brotli --without-zstd --without-hyper --without-ngtcp2 --without-nghttp3 \
    --disable-ldap --disable-ldaps --disable-rtsp --disable-dict --disable-telnet \
    --disable-tftp --disable-pop3 --disable-imap --disable-smb --disable-smtp \
    --disable-gopher --disable-mqtt --disable-ftp --disable-file --disable-ntlm-wb \
    --disable-manual --with-ca-bundle="$AL2023_CA_BUNDLE" \
    --without-ca-path --disable-dependency-tracking
}

build_isal() {
  build_autotools isal "$1" --disable-dependency-tracking
}

# Configures and builds the functions with CL_LAMBDA_ONLY (static libraries only).
build_functions() {
  local arch="$1" tree="$ROOT/build-pkg-$1"
  local args=(-DCMAKE_BUILD_TYPE=Release -DCL_LAMBDA_ONLY=ON
    -DCL_LAMBDA_DEPS_PREFIX="$DEPS/$arch/prefix")
  if [ "$arch" = arm64 ]; then
    args+=(-DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-aarch64.cmake")
  fi
  log "building ${FUNCTIONS[*]} for $arch in $tree"
  run_logged "$DEPS/$arch/cmake-configure.log" cmake -S "$ROOT" -B "$tree" "${args[@]}"
  run_logged "$DEPS/$arch/cmake-build.log" \
    cmake --build "$tree" -j "$JOBS" --target "${FUNCTIONS[@]}"
}

# Strips one function's executable into a zip holding only `bootstrap` (0755). A fixed
# timestamp keeps the zip identical for an identical binary.
package_function() {
  local arch="$1" fn="$2" tree="$ROOT/build-pkg-$1"
  local exe stage zip
  exe="$(find "$tree" -maxdepth 3 -type f -name "$fn" -perm -u+x | head -n 1)"
  [ -n "$exe" ] || die "no $fn executable in $tree"
  stage="$DEPS/$arch/stage-$fn"
  rm -rf "$stage"
  mkdir -p "$stage" "$DIST"
  "$(triplet_of "$arch")-strip" -o "$stage/bootstrap" "$exe"
  chmod 0755 "$stage/bootstrap"
  touch -d '2000-01-01 00:00:00 UTC' "$stage/bootstrap"
  zip="$DIST/$fn-$arch.zip"
  rm -f "$zip"
  (cd "$stage" && zip -q -X "$zip" bootstrap)
  printf 'lambda.sh: %-28s bootstrap %9d bytes, zip %9d bytes\n' \
    "$(basename "$zip")" "$(stat -c %s "$stage/bootstrap")" "$(stat -c %s "$zip")"
}

build_arch() {
  local arch="$1"
  command -v "$(triplet_of "$arch")-gcc" > /dev/null ||
    die "no $(triplet_of "$arch")-gcc: run scripts/setup.sh"
  mkdir -p "$DEPS/$arch"
  (
    # One build per architecture at a time (ctest and a developer may start one each).
    flock 8
    build_curl "$arch"
    build_isal "$arch"
    build_functions "$arch"
    local fn
    for fn in "${FUNCTIONS[@]}"; do
      package_function "$arch" "$fn"
    done
  ) 8> "$DEPS/$arch/.lock"
}

main() {
  local target="${1:-all}" archs=()
  case "$target" in
    all) archs=(x86_64 arm64) ;;
    x86_64 | arm64) archs=("$target") ;;
    *) echo "usage: $0 [x86_64|arm64|all]" >&2; exit 2 ;;
  esac
  fetch_source curl curl
  fetch_source libisal isal
  local arch
  for arch in "${archs[@]}"; do
    build_arch "$arch"
  done
}

main "$@"
