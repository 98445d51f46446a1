"""The Dockerfile's own rules (docs/operations.md, "Docker"), checked from its text since
no container runtime exists here: Debian 12 slim in every stage, multi-stage (the runtime
stage copies from a build stage and installs no compiler), a non-root USER before the
entry point, /data as the volume and the data directory, a HEALTHCHECK on /healthz, and
exec-form ENTRYPOINT. Usage: check_dockerfile.py DOCKERFILE; exit 1 listing what fails."""

import re
import sys


def instructions(text):
    """(KEYWORD, arguments) per instruction, continuation lines joined, comments dropped."""
    out, cur = [], ""
    for line in text.splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        cur += line.rstrip("\\").strip() + " " if line.endswith("\\") else line.strip()
        if not line.endswith("\\"):
            kw, _, args = cur.partition(" ")
            out.append((kw.upper(), args.strip()))
            cur = ""
    return out


def stages(ins):
    result = []
    for kw, args in ins:
        if kw == "FROM":
            result.append([(kw, args)])
        elif result:
            result[-1].append((kw, args))
    return result


def check(text):
    problems = []
    ins = instructions(text)
    st = stages(ins)
    if len(st) < 2:
        problems.append("not multi-stage (%d FROM)" % len(st))
    for s in st:
        image = s[0][1].split()[0]
        if image != "debian:12-slim":
            problems.append("stage FROM %s, expected debian:12-slim" % image)
    final = st[-1] if st else []
    kws = [k for k, _ in final]
    if not any(k == "COPY" and "--from=" in a for k, a in final):
        problems.append("runtime stage copies nothing from the build stage")
    if any(k == "RUN" and re.search(r"\b(build-essential|gcc|cmake|-dev)\b", a)
           for k, a in final):
        problems.append("runtime stage installs build tools")
    users = [a for k, a in final if k == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("runtime stage does not switch to a non-root USER")
    if "ENTRYPOINT" in kws and "USER" in kws and kws.index("USER") > kws.index("ENTRYPOINT"):
        problems.append("USER comes after ENTRYPOINT")
    if not any(k == "VOLUME" and "/data" in a for k, a in final):
        problems.append("no VOLUME /data")
    if not any(k == "ENV" and "CLOUDLOG_DATA=/data" in a for k, a in final):
        problems.append("CLOUDLOG_DATA is not /data")
    if not any(k == "HEALTHCHECK" and "/healthz" in a for k, a in final):
        problems.append("no HEALTHCHECK on /healthz")
    if not any(k == "ENTRYPOINT" and a.startswith("[") for k, a in final):
        problems.append("ENTRYPOINT missing or not in exec form (signals would go to a shell)")
    return problems


def main():
    with open(sys.argv[1]) as f:
        problems = check(f.read())
    for p in problems:
        print("Dockerfile: " + p)
    if problems:
        return 1
    print("ok: Dockerfile follows the image rules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
