# CL_LAMBDA_ONLY=ON (scripts/lambda.sh, docs/lambda.md "Packaging"): the Lambda bootstraps
# must run on Amazon Linux 2023 with nothing installed but glibc, so every other library is
# linked from its static archive. Included by the top-level CMakeLists.txt before its
# find_* calls.

set(CL_LAMBDA_DEPS_PREFIX "" CACHE PATH
    "Prefix of the static libcurl and ISA-L that scripts/lambda.sh builds from Debian source")
if(CL_LAMBDA_DEPS_PREFIX)
  # Searched before the system: pkg-config for libcurl.pc, find_* for ISA-L.
  set(ENV{PKG_CONFIG_PATH} "${CL_LAMBDA_DEPS_PREFIX}/lib/pkgconfig")
  list(PREPEND CMAKE_PREFIX_PATH "${CL_LAMBDA_DEPS_PREFIX}")
endif()

# pkg_check_modules(IMPORTED_TARGET) resolves each -lNAME with find_library, like the
# explicit find_library calls: with only .a accepted, every library becomes its archive,
# or configuring fails naming the library that has none.
set(CMAKE_FIND_LIBRARY_SUFFIXES .a)

# The static libcurl's libcurl.pc (built with --disable-shared) lists OpenSSL and zlib in
# Libs itself, so PkgConfig::CURL brings their archives along. expat.pc (libexpat1-dev,
# for S3's XML) needs nothing but libexpat.a; libexpat1-dev:arm64 ships the arm64 one.

# libsnappy.a (Loki's protobuf push) is C++: after it, libstdc++'s archive (found by the gcc
# driver in its own library directory) and libm; -static-libgcc (CMakeLists.txt) makes the
# driver link libgcc_eh.a for the unwinder instead of libgcc_s.so.1, which AL2023's glibc
# does not provide. Debian: libsnappy-dev(:arm64), libstdc++-12-dev-arm64-cross.
set(CL_LAMBDA_CXX_RUNTIME -l:libstdc++.a m)
