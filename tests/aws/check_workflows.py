#!/usr/bin/env python3
"""What actionlint cannot know about .github/workflows: that they do the project's job.

ci.yml:     runs on pushes to main and on pull requests, and one of its steps runs the
            test command the README names (`bash .ci/run` or `scripts/test.sh`).
deploy.yml: runs on pushes to main and on version tags; a job builds the zips with
            `scripts/lambda.sh arm64` and hands on the files the template's CodeUri
            names; the deploying job has an environment, `id-token: write`, assumes a
            role with aws-actions/configure-aws-credentials (role-to-assume, no stored
            keys), then runs `sam build` and `sam deploy` in the template's directory.
Then each rule is shown to fail on a mutated copy.

Usage: check_workflows.py REPO_ROOT
Exit 0: all good; 1: findings; 77: PyYAML missing (a failure when CI=true).
"""

import copy
import os
import re
import sys

from check_template import Template, load_template, skip_or_fail

try:
    import yaml
except ImportError:
    skip_or_fail("PyYAML is not importable by this python3 (the pyenv python3 has it)")


def load_workflow(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    # YAML 1.1 reads the key `on` as the boolean true.
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


def steps(job):
    return job.get("steps", [])


def runs(job):
    return "\n".join(s.get("run", "") for s in steps(job))


def uses(job, action):
    return [s for s in steps(job) if s.get("uses", "").split("@")[0] == action]


def readme_test_commands(root):
    with open(os.path.join(root, "README.md"), encoding="utf-8") as f:
        text = f.read()
    return [c for c in ("bash .ci/run", ".ci/run", "scripts/test.sh") if c in text]


def check_ci(ci, readme_commands, findings):
    on = ci.get("on", {})
    if "main" not in (on.get("push") or {}).get("branches", []) or "pull_request" not in on:
        findings.append("ci.yml: must run on pushes to main and on pull requests")
    if not any(re.search(rf"(^|\s){re.escape(cmd)}(\s|$)", runs(job), re.M)
               for job in ci.get("jobs", {}).values() for cmd in readme_commands):
        findings.append(f"ci.yml: no step runs the README's test command {readme_commands}")


def codeuri_files(template):
    t = Template(template)
    names = set()
    for name in t.of_type({"AWS::Serverless::Function"}):
        names.add(os.path.basename(t.canon(t.function_property(name, "CodeUri")) or ""))
    return names


def check_deploy(dep, zips, findings):
    on = dep.get("on", {})
    push = on.get("push") or {}
    if "main" not in push.get("branches", []) or not push.get("tags"):
        findings.append("deploy.yml: must run on pushes to main and on tags")
    jobs = dep.get("jobs", {})
    builders = [n for n, j in jobs.items() if re.search(r"scripts/lambda\.sh\s+arm64", runs(j))]
    if not builders:
        findings.append("deploy.yml: no job runs scripts/lambda.sh arm64")
    deployers = [n for n, j in jobs.items() if re.search(r"(^|\s)sam deploy(\s|$)", runs(j), re.M)]
    if len(deployers) != 1:
        findings.append(f"deploy.yml: {len(deployers)} jobs run sam deploy (expected 1)")
        return
    name = deployers[0]
    job = jobs[name]
    perms = {**(dep.get("permissions") or {}), **(job.get("permissions") or {})}
    if perms.get("id-token") != "write":
        findings.append(f"deploy.yml {name}: needs permissions id-token: write (OIDC)")
    if not job.get("environment"):
        findings.append(f"deploy.yml {name}: runs without an environment")
    creds = uses(job, "aws-actions/configure-aws-credentials")
    if not creds or not creds[0].get("with", {}).get("role-to-assume"):
        findings.append(f"deploy.yml {name}: no configure-aws-credentials step with role-to-assume")
    elif any(k in creds[0].get("with", {}) for k in ("aws-access-key-id", "aws-secret-access-key")):
        findings.append(f"deploy.yml {name}: stored access keys instead of the OIDC role")
    text = runs(job)
    if "sam build" not in text or text.index("sam build") > text.index("sam deploy"):
        findings.append(f"deploy.yml {name}: sam build must run before sam deploy")
    for s in steps(job):
        if "sam " in s.get("run", "") and s.get("working-directory") != "deploy/aws":
            findings.append(f"deploy.yml {name}: sam runs outside deploy/aws (where "
                            f"template.yaml and samconfig.toml are)")
    check_artifacts(jobs, builders, name, zips, findings)


def check_artifacts(jobs, builders, deployer, zips, findings):
    """The deploying job gets the zips the template names, from a job it needs."""
    job = jobs[deployer]
    needs = job.get("needs", [])
    needs = [needs] if isinstance(needs, str) else needs
    if builders and not set(builders) & set(needs) and deployer not in builders:
        findings.append(f"deploy.yml {deployer}: does not need the job that builds the zips")
    if deployer in builders:
        return
    uploads = [s for b in builders for s in uses(jobs[b], "actions/upload-artifact")]
    downloads = uses(job, "actions/download-artifact")
    up_names = {s.get("with", {}).get("name") for s in uploads}
    if not downloads or downloads[0].get("with", {}).get("name") not in up_names:
        findings.append(f"deploy.yml {deployer}: does not download the built zips' artifact")
        return
    pattern = " ".join(str(s.get("with", {}).get("path", "")) for s in uploads)
    for z in sorted(zips):
        if not any(re.fullmatch(p.replace(".", r"\.").replace("*", ".*"), f"dist/{z}")
                   for p in pattern.split()):
            findings.append(f"deploy.yml: the artifact ({pattern}) does not hold dist/{z}, "
                            f"which the template's CodeUri names")


def run_checks(ci, dep, readme_commands, zips):
    findings = []
    check_ci(ci, readme_commands, findings)
    check_deploy(dep, zips, findings)
    return findings


def mutations(ci, dep):
    """(description, ci, deploy) triples, each of which must produce a finding."""
    def mutated(doc, fn):
        d = copy.deepcopy(doc)
        fn(d)
        return d

    def deploy_job(d):
        return next(j for j in d["jobs"].values() if "sam deploy" in runs(j))

    def drop_step(job, needle):
        job["steps"] = [s for s in job["steps"] if needle not in str(s)]

    return [
        ("ci without the test command", mutated(ci, lambda d: [
            drop_step(j, ".ci/run") for j in d["jobs"].values()]), dep),
        ("deploy without id-token: write", ci,
         mutated(dep, lambda d: deploy_job(d)["permissions"].pop("id-token"))),
        ("deploy without an environment", ci,
         mutated(dep, lambda d: deploy_job(d).pop("environment"))),
        ("deploy with stored keys", ci, mutated(dep, lambda d: uses(
            deploy_job(d), "aws-actions/configure-aws-credentials")[0]["with"].update(
                {"aws-access-key-id": "x", "aws-secret-access-key": "y"}))),
        ("deploy without sam build", ci,
         mutated(dep, lambda d: drop_step(deploy_job(d), "sam build"))),
        ("deploy not on tags", ci, mutated(dep, lambda d: d["on"]["push"].pop("tags"))),
        ("zips built for x86_64", ci, mutated(dep, lambda d: [
            s.update(run=s["run"].replace("lambda.sh arm64", "lambda.sh x86_64"))
            for j in d["jobs"].values() for s in steps(j) if "lambda.sh" in s.get("run", "")])),
    ]


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    root = sys.argv[1]
    ci = load_workflow(os.path.join(root, ".github/workflows/ci.yml"))
    dep = load_workflow(os.path.join(root, ".github/workflows/deploy.yml"))
    readme_commands = readme_test_commands(root)
    zips = codeuri_files(load_template(os.path.join(root, "deploy/aws/template.yaml")))
    findings = run_checks(ci, dep, readme_commands, zips)
    for f in findings:
        print(f"FINDING: {f}")
    print(f"checked ci.yml (README commands {readme_commands}) and deploy.yml (zips {sorted(zips)})")
    missed = []
    for desc, m_ci, m_dep in mutations(ci, dep):
        got = run_checks(m_ci, m_dep, readme_commands, zips)
        print(f"{'ok' if got else 'MISSED'}: mutation '{desc}' -> {got[:1]}")
        if not got:
            missed.append(desc)
    ok = not findings and not missed and readme_commands
    print(f"{'PASS' if ok else 'FAIL'}: {len(findings)} finding(s), "
          f"{len(missed)} mutation(s) not detected")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
