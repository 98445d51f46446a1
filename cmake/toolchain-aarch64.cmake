# Cross-compiling cloudlog for arm64 (aarch64) Linux with Debian's cross toolchain
# (packages gcc-aarch64-linux-gnu, libc6-dev-arm64-cross) and the arm64 -dev packages
# installed multiarch (libssl-dev:arm64, ...; scripts/setup.sh). Used by scripts/lambda.sh:
#   cmake -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-aarch64.cmake -DCL_LAMBDA_ONLY=ON ...
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_STRIP aarch64-linux-gnu-strip)
set(CMAKE_AR aarch64-linux-gnu-ar)
set(CMAKE_RANLIB aarch64-linux-gnu-ranlib)

# Debian multiarch: arm64 libraries live in /usr/lib/aarch64-linux-gnu beside the host's,
# so find_library must look in lib/aarch64-linux-gnu and never in the host's triplet dir.
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# pkg-config must answer with the arm64 .pc files, not the host's (only the files of the
# target architecture and the architecture-independent ones; CL_LAMBDA_DEPS_PREFIX adds
# the locally built static libraries on top, see CMakeLists.txt).
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")

# Tools (programs) are the host's; headers and libraries come from the multiarch dirs above.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
