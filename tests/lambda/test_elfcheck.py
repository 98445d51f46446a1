#!/usr/bin/env python3
"""Shows that elfcheck.py (the glibc check of the Lambda packages) can fail: it builds small
programs with each architecture's compiler and expects it to reject a program that needs a
non-glibc shared library (zlib), one that imports a symbol newer than GLIBC_2.34
(arc4random, GLIBC_2.36), and a binary of the wrong architecture, and to accept a program
that needs only libc.

Usage: test_elfcheck.py WORKDIR    (exit 77 = skipped: a compiler is missing and CI is unset)
"""
import os
import shutil
import subprocess
import sys

import elfcheck

COMPILERS = {"x86_64": "x86_64-linux-gnu-gcc", "arm64": "aarch64-linux-gnu-gcc"}

PROGRAMS = {
    "libc_only": ("#include <stdio.h>\nint main(void) { puts(\"ok\"); return 0; }\n", []),
    "needs_zlib": (
        "#include <stdio.h>\n#include <zlib.h>\n"
        "int main(void) { puts(zlibVersion()); return 0; }\n",
        ["-lz"],
    ),
    "new_glibc": (
        "#include <stdlib.h>\nint main(void) { return (int)(arc4random() & 1); }\n",
        [],
    ),
}


def build(arch, name, workdir):
    """Compiles PROGRAMS[name] for arch; returns the executable's path."""
    source, libs = PROGRAMS[name]
    src = os.path.join(workdir, f"{name}.c")
    exe = os.path.join(workdir, f"{name}-{arch}")
    with open(src, "w") as f:
        f.write(source)
    subprocess.run([COMPILERS[arch], "-O1", "-o", exe, src, *libs], check=True)
    return exe


def expect(label, found, wanted):
    """Fails unless some problem line contains wanted (or, for wanted None, none exists)."""
    ok = (not found) if wanted is None else any(wanted in p for p in found)
    print(f"{'ok' if ok else 'FAIL'}: {label}: {found or 'no problems'}")
    return ok


def check_arch(arch, workdir):
    """Runs the four cases for one architecture; True when all behave."""
    other = "arm64" if arch == "x86_64" else "x86_64"
    good = build(arch, "libc_only", workdir)
    return all(
        [
            expect(f"{arch} libc-only program passes", elfcheck.problems(arch, good), None),
            expect(
                f"{arch} program linking libz.so is rejected",
                elfcheck.problems(arch, build(arch, "needs_zlib", workdir)),
                "needs libz.so.1",
            ),
            expect(
                f"{arch} program importing arc4random is rejected",
                elfcheck.problems(arch, build(arch, "new_glibc", workdir)),
                "GLIBC_2.36",
            ),
            expect(
                f"{arch} binary checked as {other} is rejected",
                elfcheck.problems(other, good),
                f"not an {other} executable",
            ),
        ]
    )


def main():
    workdir = os.path.join(sys.argv[1] if len(sys.argv) > 1 else ".", "elfcheck")
    os.makedirs(workdir, exist_ok=True)
    missing = [c for c in COMPILERS.values() if shutil.which(c) is None]
    missing += [t for arch in COMPILERS for t in elfcheck.missing_tools(arch)]
    if missing:
        print(f"SKIP: {', '.join(sorted(set(missing)))} not installed (scripts/setup.sh)")
        return 1 if os.environ.get("CI") == "true" else 77
    results = [check_arch(arch, workdir) for arch in COMPILERS]
    print("elfcheck self-test: " + ("every case behaves" if all(results) else "FAILED"))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
