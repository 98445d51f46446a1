#!/usr/bin/env python3
"""Checks that an ELF executable needs nothing from the system but glibc <= 2.34.

Amazon Linux 2023 (the provided.al2023 Lambda runtime) has glibc 2.34 and nothing else we
may rely on, so a Lambda bootstrap must:
  - be built for the expected machine (x86_64 or arm64),
  - list only glibc's own libraries as NEEDED (readelf -d),
  - import no symbol with a version newer than GLIBC_2.34, nor any non-glibc version
    (objdump -T; a versioned import from another library means a shared dependency).

Usage: elfcheck.py ARCH FILE...   (exit 0: all fine; 1: problems printed; 77: tool missing)
"""
import os
import re
import shutil
import subprocess
import sys

MAX_GLIBC = (2, 34)

ARCHES = {
    # arch: (readelf "Machine:" text, loader, objdump program)
    "x86_64": ("Advanced Micro Devices X86-64", "ld-linux-x86-64.so.2", "objdump"),
    "arm64": ("AArch64", "ld-linux-aarch64.so.1", "aarch64-linux-gnu-objdump"),
}

# glibc's libraries (libm/libpthread/libdl/librt are part of glibc, so allowed, though
# since 2.34 everything but libm lives in libc.so.6 itself).
GLIBC_LIBS = {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1"}


def run(argv):
    """Output of a tool; raises CalledProcessError when it fails."""
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def missing_tools(arch):
    """The tools this check needs that are not installed (empty when all are)."""
    return [t for t in ("readelf", ARCHES[arch][2]) if shutil.which(t) is None]


def needed_libs(path):
    """The NEEDED entries of the dynamic section."""
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run(["readelf", "-d", path]))


def interpreter(path):
    """The PT_INTERP path (the dynamic loader the kernel starts), or None if static."""
    m = re.search(r"Requesting program interpreter: ([^\]]+)\]", run(["readelf", "-l", path]))
    return m.group(1) if m else None


def symbol_versions(arch, path):
    """The set of version names (GLIBC_2.17, OPENSSL_3.0.0, ...) of the dynamic symbols.

    objdump -T prints one symbol a line, "ADDRESS FLAGS SECTION SIZE VERSION NAME", the
    version in parentheses when hidden and "Base" when the symbol has none."""
    versions = set()
    for line in run([ARCHES[arch][2], "-T", path]).splitlines():
        # Section symbols (".init") have neither version nor a second name: no match.
        m = re.match(r"[0-9a-f]{8,}\s.*\s[0-9a-f]{8,}\s+(\S+)\s+\S+$", line)
        if m and m.group(1) != "Base":
            versions.add(m.group(1).strip("()"))
    return versions


def glibc_version(name):
    """(2, 34) for GLIBC_2.34; None for any other version name."""
    m = re.fullmatch(r"GLIBC_(\d+)\.(\d+)(?:\.\d+)?", name)
    return (int(m.group(1)), int(m.group(2))) if m else None


def newest_glibc(arch, path):
    """The newest GLIBC_x.y version path imports, e.g. "GLIBC_2.34" (None if none)."""
    versions = [(glibc_version(v), v) for v in symbol_versions(arch, path) if glibc_version(v)]
    return max(versions)[1] if versions else None


def problems(arch, path):
    """Everything that would keep path from running on a glibc-2.34-only system."""
    machine, loader, _ = ARCHES[arch]
    found = []
    header = run(["readelf", "-h", path])
    if not re.search(r"Machine:\s+" + re.escape(machine), header):
        found.append(f"not an {arch} executable ({machine} expected)")
    interp = interpreter(path)
    if interp is None or os.path.basename(interp) != loader:
        found.append(f"program interpreter {interp!r}, expected glibc's {loader}")
    for lib in needed_libs(path):
        if lib not in GLIBC_LIBS and lib != loader:
            found.append(f"needs {lib}, which is not part of glibc")
    for name in sorted(symbol_versions(arch, path)):
        version = glibc_version(name)
        if version is None:
            found.append(f"imports symbols of version {name} (not glibc <= 2.34)")
        elif version > MAX_GLIBC:
            found.append(f"imports symbols of version {name} (Amazon Linux 2023 has 2.34)")
    return found


def main(argv):
    if len(argv) < 3 or argv[1] not in ARCHES:
        print(__doc__, file=sys.stderr)
        return 2
    arch = argv[1]
    missing = missing_tools(arch)
    if missing:
        print(f"SKIP: {', '.join(missing)} not installed (scripts/setup.sh)", file=sys.stderr)
        return 1 if os.environ.get("CI") == "true" else 77
    status = 0
    for path in argv[2:]:
        for p in problems(arch, path):
            print(f"{path}: {p}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
