#!/usr/bin/env python3
"""Least privilege of deploy/aws/template.yaml, checked on the roles SAM generates.

The template goes through the SAM translator (aws-sam-translator, the transform cfn-lint
uses, offline), then every IAM role must hold:
  - no managed policy but AWSLambdaBasicExecutionRole (its own log streams); a SAM `SQS`
    event, for example, would add AWSLambdaSQSQueueExecutionRole, valid for every queue;
  - Allow statements whose actions are not `*` or `service:*`, and whose resources each
    name a resource of this template (no `*`);
  - S3 object permissions only under a key prefix, never the whole bucket.
Then each rule is shown to fail on a mutated copy of the template.

Usage: check_least_privilege.py TEMPLATE
Exit 0: all good; 1: findings; 77: aws-sam-translator or PyYAML missing (a failure when
CI=true).
"""

import copy
import os
import re
import sys

from check_template import load_template, skip_or_fail

try:
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
except ImportError:
    skip_or_fail("aws-sam-translator is not importable (it comes with the pyenv python3's cfn-lint)")

ALLOWED_MANAGED_POLICIES = {"AWSLambdaBasicExecutionRole"}


def translate(doc):
    """The CloudFormation template SAM makes of doc (functions' CodeUri replaced by an S3
    location, since the translator only takes those; nothing is uploaded)."""
    doc = copy.deepcopy(doc)
    for r in doc["Resources"].values():
        if r.get("Type") == "AWS::Serverless::Function":
            r["Properties"]["CodeUri"] = "s3://bucket/function.zip"
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # ARNs' partition only
    translator = Translator(managed_policy_map={}, sam_parser=Parser())
    out = translator.translate(sam_template=doc, parameter_values={})
    translator.metrics.publish()  # the translator's usage metrics: to its dummy publisher
    return out


def named_resources(value, resources):
    """Logical ids of this template's resources that value refers to (Ref, GetAtt, and
    ${X} / ${X.Attr} inside Fn::Sub strings, following Sub's variable map)."""
    found = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "Ref" and v in resources:
                found.add(v)
            elif k == "Fn::GetAtt":
                target = v[0] if isinstance(v, list) else v.split(".")[0]
                if target in resources:
                    found.add(target)
            elif k == "Fn::Sub":
                text, variables = (v[0], v[1]) if isinstance(v, list) else (v, {})
                for name in re.findall(r"\$\{([A-Za-z0-9]+)[.}]", text):
                    if name in resources:
                        found.add(name)
                found |= named_resources(variables, resources)
            else:
                found |= named_resources(v, resources)
    elif isinstance(value, list):
        for v in value:
            found |= named_resources(v, resources)
    return found


def as_list(v):
    return v if isinstance(v, list) else [v]


def sub_text(resource):
    """The text of a Fn::Sub resource ARN, or None."""
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        v = resource["Fn::Sub"]
        return v[0] if isinstance(v, list) else v
    return None


def check_statement(where, st, resources, findings):
    actions = as_list(st.get("Action", []))
    for a in actions:
        if a == "*" or a.endswith(":*"):
            findings.append(f"{where}: action {a!r} allows a whole service")
    for res in as_list(st.get("Resource", [])):
        if res == "*" or not named_resources(res, resources):
            findings.append(f"{where}: resource {res!r} is not one of this template's")
    s3_objects = [a for a in actions
                  if (a.startswith("s3:") and "Object" in a) or a == "s3:AbortMultipartUpload"]
    for res in as_list(st.get("Resource", [])) if s3_objects else []:
        text = sub_text(res) or ""
        if not re.fullmatch(r"\$\{[A-Za-z0-9]+\.Arn\}/[^*/][^*]*/\*?", text):
            findings.append(f"{where}: {s3_objects} on {res!r}, not under one key prefix "
                            f"(expected ${{Bucket.Arn}}/<prefix>/*)")


def check_roles(doc):
    """All findings for one (SAM) template document."""
    findings = []
    out = translate(doc)
    resources = out["Resources"]
    roles = {k: r for k, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    if not roles:
        findings.append("SAM generated no IAM role")
    for name, role in roles.items():
        props = role["Properties"]
        for arn in props.get("ManagedPolicyArns", []):
            text = arn if isinstance(arn, str) else sub_text(arn) or str(arn)
            if text.rsplit("/", 1)[-1] not in ALLOWED_MANAGED_POLICIES:
                findings.append(f"{name}: managed policy {text} (only "
                                f"{sorted(ALLOWED_MANAGED_POLICIES)} are allowed)")
        for policy in props.get("Policies", []):
            for i, st in enumerate(as_list(policy["PolicyDocument"]["Statement"])):
                if st.get("Effect") == "Allow":
                    check_statement(f"{name} {policy['PolicyName']}[{i}]", st, resources,
                                    findings)
    return findings, len(roles)


def mutations(doc):
    """(description, mutated copy) pairs, each of which must produce a finding."""
    def mutate(desc, fn):
        d = copy.deepcopy(doc)
        fn(d["Resources"])
        return desc, d

    def processor_statement(res):
        policies = res["ProcessorFunction"]["Properties"]["Policies"]
        return next(p for p in policies if "Statement" in p)["Statement"][0]

    def sam_sqs_event(res):
        res["ProcessorFunction"]["Properties"]["Events"] = {
            "Queue": {"Type": "SQS", "Properties": {"Queue": {"Fn::GetAtt": ["IngestQueue", "Arn"]}}}}
        del res["ProcessorEventSource"]

    return [
        mutate("SAM SQS event (adds AWSLambdaSQSQueueExecutionRole)", sam_sqs_event),
        mutate("statement on every resource",
               lambda r: processor_statement(r).update(Resource="*")),
        mutate("S3 objects of the whole bucket",
               lambda r: processor_statement(r).update(Resource={"Fn::Sub": "${LogBucket.Arn}/*"})),
        mutate("every S3 action", lambda r: processor_statement(r).update(Action="s3:*")),
    ]


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    doc = load_template(sys.argv[1])
    findings, n_roles = check_roles(doc)
    for f in findings:
        print(f"FINDING: {f}")
    print(f"checked {n_roles} generated role(s)")
    missed = []
    for desc, mutated in mutations(doc):
        got, _ = check_roles(mutated)
        print(f"{'ok' if got else 'MISSED'}: mutation '{desc}' -> {got[:1]}")
        if not got:
            missed.append(desc)
    ok = not findings and not missed
    print(f"{'PASS' if ok else 'FAIL'}: {len(findings)} finding(s) in {sys.argv[1]}, "
          f"{len(missed)} mutation(s) not detected")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
