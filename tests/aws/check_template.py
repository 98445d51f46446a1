#!/usr/bin/env python3
"""Checks of deploy/aws/template.yaml that cfn-lint cannot make.

  1. Every SQS queue feeding a function (event source mapping or SAM SQS event) has a
     VisibilityTimeout >= 6 x that function's Timeout (parameter defaults and Globals
     resolved).
  2. Every alarm metric and every dashboard metric in the functions' EMF namespace is one
     the functions emit, with the same dimension names, the configured dimensions' values
     as the functions are given them, and label dimension values (Reason, StatusClass)
     the code has. What is emitted comes from `emf_catalog`, a small program that sets up
     each function's metrics with the functions' own code (registry of its stage, EMF
     writer, environment handling) and prints them, not from a list typed here.
  3. Every AWS/* metric is a metric of that service and names this template's own
     resources (QueueName of a queue, FunctionName of a function, ApiId of an API).
  4. Metric math only uses ids defined next to it; an alarm returns exactly one series.
  5. samconfig.toml's parameter_overrides name the template's parameters with values its
     AllowedValues / MinValue / MaxValue accept.
  6. Ingest authentication: for every ApiAuth value, with and without ApiKeys, the
     template's Rules (evaluated here: cfn-lint checks their syntax, not their outcome)
     refuse ApiAuth=ApiKey without keys, accept the other choices, and no accepted stack
     leaves POST /v1/logs open (route AuthorizationType NONE and an ingestor CLOUDLOG_AUTH
     other than apikey) unless ApiAuth=None asked for it.
  7. Every dead-letter queue keeps messages SQS's maximum (14 days) and has an
     ApproximateAgeOfOldestMessage alarm whose threshold (at its parameter's MaxValue)
     fires at least 2 days before SQS would delete a message.
  8. Every function given a queue (CLOUDLOG_QUEUE_URL) states the queue's size in the
     URL (max_message_size=BYTES, so its init makes no call to SQS), and that queue
     states the same MaximumMessageSize explicitly.
  9. Every GET route of the HTTP API has a HEAD route (or an ANY route) for the same path,
     with the same target and authorization: an HTTP API matches a route by its method
     (HEAD is not GET), and the daemon and the functions answer HEAD wherever they answer
     GET (Elasticsearch clients ping with HEAD).

Then every check is shown to fail: each of several mutated copies of the template must
produce a finding.

Usage: check_template.py TEMPLATE EMF_CATALOG_BINARY [SAMCONFIG]
Exit 0: all good; 1: findings; 77: PyYAML missing (a failure when CI=true).
"""

import copy
import json
import os
import re
import subprocess
import shlex
import sys
import tomllib

SKIP = 77

# AWS's metric names per namespace (CloudWatch docs for SQS, Lambda, HTTP APIs), and
# which dimension must name which resource type of ours, in what form.
AWS_METRICS = {
    "AWS/SQS": {
        "ApproximateNumberOfMessagesVisible", "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed", "ApproximateAgeOfOldestMessage",
        "NumberOfMessagesSent", "NumberOfMessagesReceived", "NumberOfMessagesDeleted",
        "NumberOfEmptyReceives", "SentMessageSize",
    },
    "AWS/Lambda": {
        "Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions",
        "DeadLetterErrors", "ClaimedAccountConcurrency", "UnreservedConcurrentExecutions",
    },
    "AWS/ApiGateway": {"4xx", "5xx", "Count", "Latency", "IntegrationLatency", "DataProcessed"},
}
AWS_DIMENSIONS = {
    "AWS/SQS": {"QueueName": ({"AWS::SQS::Queue"}, "QueueName")},
    "AWS/Lambda": {"FunctionName": ({"AWS::Serverless::Function", "AWS::Lambda::Function"}, None)},
    "AWS/ApiGateway": {"ApiId": ({"AWS::ApiGatewayV2::Api", "AWS::Serverless::HttpApi"}, None)},
}
FUNCTION_TYPES = AWS_DIMENSIONS["AWS/Lambda"]["FunctionName"][0]


def skip_or_fail(msg):
    if os.environ.get("CI") == "true":
        print(f"FAIL: {msg} (CI=true: required)")
        sys.exit(1)
    print(f"SKIP: {msg}")
    sys.exit(SKIP)


try:
    import yaml
except ImportError:
    skip_or_fail("PyYAML is not importable by this python3 (the pyenv python3 has it)")


# ---------------------------------------------------------------- loading


class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns CloudFormation short forms (!Ref X, !Sub s, !GetAtt a.b, ...)
    into their long forms ({"Ref": "X"}, {"Fn::Sub": "s"}, {"Fn::GetAtt": ["a", "b"]})."""


def _short_form(loader, tag_suffix, node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _short_form)


def load_template(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=CfnLoader)


# ---------------------------------------------------------------- resolving values


class Template:
    def __init__(self, doc):
        self.doc = doc
        self.resources = doc.get("Resources", {})
        self.params = {k: v.get("Default") for k, v in doc.get("Parameters", {}).items()}

    def canon(self, v):
        """A value as one string: literals as is, Ref/GetAtt/Sub as ${...} text with
        parameters replaced by their defaults; None for other intrinsics."""
        if isinstance(v, (str, int, float)):
            return str(v)
        if isinstance(v, dict) and len(v) == 1:
            (k, arg), = v.items()
            if k == "Ref":
                return self.sub_params(f"${{{arg}}}")
            if k == "Fn::GetAtt":
                return f"${{{arg[0]}.{arg[1]}}}"
            if k == "Fn::Sub" and isinstance(arg, str):
                return self.sub_params(arg)
        return None

    def sub_params(self, s):
        """Replaces ${Param} with the parameter's default; ${!x} becomes the literal ${x}."""
        def repl(m):
            name = m.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in self.params and self.params[name] is not None:
                return str(self.params[name])
            return m.group(0)
        return re.sub(r"\$\{([^}]*)\}", repl, s)

    def number(self, v, what):
        c = self.canon(v)
        try:
            return float(c)
        except (TypeError, ValueError):
            raise ValueError(f"{what}: cannot resolve {v!r} to a number") from None

    def of_type(self, types):
        return {k: r for k, r in self.resources.items() if r.get("Type") in types}

    def function_property(self, name, prop):
        """A function's property, falling back to Globals.Function."""
        props = self.resources[name].get("Properties", {})
        if prop in props:
            return props[prop]
        return self.doc.get("Globals", {}).get("Function", {}).get(prop)

    def function_env(self, name):
        """A function's environment: Globals' variables overridden by its own."""
        glob = self.doc.get("Globals", {}).get("Function", {})
        env = dict(glob.get("Environment", {}).get("Variables", {}))
        props = self.resources[name].get("Properties", {})
        env.update(props.get("Environment", {}).get("Variables", {}))
        return env

    def referenced_resource(self, v):
        """The logical id a Ref / GetAtt / ${X} / ${X.Attr} value names, and the attribute."""
        c = self.canon(v)
        m = re.fullmatch(r"\$\{([A-Za-z0-9]+)(?:\.([A-Za-z0-9.]+))?\}", c or "")
        return (m.group(1), m.group(2)) if m else (None, None)


# ---------------------------------------------------------------- check 1


def check_visibility(t, findings, log):
    pairs = []  # (queue value, function value, where)
    for name, r in t.of_type({"AWS::Lambda::EventSourceMapping"}).items():
        p = r.get("Properties", {})
        pairs.append((p.get("EventSourceArn"), p.get("FunctionName"), name))
    for name in t.of_type(FUNCTION_TYPES):
        for ev_name, ev in (t.resources[name].get("Properties", {}).get("Events") or {}).items():
            if ev.get("Type") == "SQS":
                pairs.append((ev["Properties"].get("Queue"), {"Ref": name}, f"{name}.{ev_name}"))
    if not pairs:
        findings.append("no SQS event source found (expected the processor's mapping)")
    for queue_v, fn_v, where in pairs:
        queue, _ = t.referenced_resource(queue_v)
        fn, _ = t.referenced_resource(fn_v)
        if queue not in t.resources or fn not in t.resources:
            findings.append(f"{where}: queue or function is not a resource of the template")
            continue
        qprops = t.resources[queue].get("Properties", {})
        visibility = t.number(qprops.get("VisibilityTimeout", 30), f"{queue}.VisibilityTimeout")
        timeout = t.number(t.function_property(fn, "Timeout") or 3, f"{fn}.Timeout")
        if visibility < 6 * timeout:
            findings.append(f"{where}: {queue} VisibilityTimeout {visibility:g} < 6 x {fn} "
                            f"Timeout {timeout:g} = {6 * timeout:g}")
        else:
            log(f"ok: {queue} VisibilityTimeout {visibility:g} >= 6 x {fn} Timeout {timeout:g}")


# ---------------------------------------------------------------- check 6


def evaluate(v, params, conditions):
    """v with Ref, Fn::If/Equals/Not/And/Or and Condition resolved for these parameter
    values (as CloudFormation evaluates Rules and Conditions)."""
    if not isinstance(v, dict) or len(v) != 1:
        return v
    (k, arg), = v.items()
    ev = lambda x: evaluate(x, params, conditions)  # noqa: E731
    if k == "Ref":
        return params.get(arg, v)
    if k == "Condition":
        return ev(conditions[arg])
    if k == "Fn::Equals":
        return str(ev(arg[0])) == str(ev(arg[1]))
    if k == "Fn::Not":
        return not ev(arg[0])
    if k == "Fn::And":
        return all(ev(x) for x in arg)
    if k == "Fn::Or":
        return any(ev(x) for x in arg)
    if k == "Fn::If":
        return ev(arg[1] if ev(conditions[arg[0]]) else arg[2])
    return v


def rules_accept(doc, params):
    """(accepted, why): whether every applicable Rules assertion holds for params."""
    conditions = doc.get("Conditions", {})
    for name, rule in (doc.get("Rules") or {}).items():
        if not evaluate(rule.get("RuleCondition", True), params, conditions):
            continue
        for a in rule.get("Assertions", []):
            if not evaluate(a["Assert"], params, conditions):
                return False, f"{name}: {a.get('AssertDescription', '')}"
    return True, ""


def ingest_auth(doc, params):
    """(route AuthorizationType, ingestor CLOUDLOG_AUTH) for these parameter values."""
    conditions = doc.get("Conditions", {})
    route = next((r for r in doc["Resources"].values()
                  if r.get("Type") == "AWS::ApiGatewayV2::Route"), {})
    kind = evaluate(route.get("Properties", {}).get("AuthorizationType", "NONE"), params,
                    conditions)
    env = (doc["Resources"].get("IngestorFunction", {}).get("Properties", {})
           .get("Environment", {}).get("Variables", {}))
    return kind, evaluate(env.get("CLOUDLOG_AUTH", "unset"), params, conditions)


def check_auth(doc, findings, log):
    defaults = {k: v.get("Default") for k, v in doc.get("Parameters", {}).items()}
    for mode in doc["Parameters"]["ApiAuth"].get("AllowedValues", []):
        for keys in ("", "k1,k2"):
            params = dict(defaults, ApiAuth=mode, ApiKeys=keys)
            ok, why = rules_accept(doc, params)
            where = f"ApiAuth={mode} ApiKeys={keys!r}"
            if mode == "ApiKey" and not keys:
                if ok:
                    findings.append(f"{where}: the Rules accept an ApiKey stack without keys")
                else:
                    log(f"ok: {where} refused ({why[:60]}...)")
                continue
            if not ok:
                findings.append(f"{where}: refused by the Rules ({why})")
                continue
            route, auth = ingest_auth(doc, params)
            if route == "NONE" and auth != "apikey" and mode != "None":
                findings.append(f"{where}: POST /v1/logs is open (route {route}, "
                                f"CLOUDLOG_AUTH={auth})")
            elif auth == "apikey" and not keys:
                findings.append(f"{where}: CLOUDLOG_AUTH=apikey without keys fails at init")
            else:
                log(f"ok: {where} -> route {route}, CLOUDLOG_AUTH={auth}")


# ---------------------------------------------------------------- check 9


def check_head_routes(t, findings, log):
    routes = []
    for name, r in t.of_type({"AWS::ApiGatewayV2::Route"}).items():
        props = r.get("Properties", {})
        method, _, path = (t.canon(props.get("RouteKey")) or "").partition(" ")
        same = (json.dumps(props.get("Target"), sort_keys=True),
                json.dumps(props.get("AuthorizationType"), sort_keys=True))
        routes.append((name, method, path, same))
    gets = [r for r in routes if r[1] == "GET"]
    for name, _, path, same in gets:
        if not any(m in ("HEAD", "ANY") and p == path and s == same for _, m, p, s in routes):
            findings.append(f"{name}: GET {path} has no HEAD (or ANY) route with the same "
                            "target and authorization")
    log(f"ok: checked {len(gets)} GET route(s) for their HEAD routes")


# ---------------------------------------------------------------- check 7

SQS_MAX_RETENTION = 1209600  # 14 days
DLQ_ALARM_MARGIN = 2 * 86400


def check_dead_letters(t, findings, log):
    dlqs = set()
    for r in t.of_type({"AWS::SQS::Queue"}).values():
        target = (r.get("Properties", {}).get("RedrivePolicy") or {}).get("deadLetterTargetArn")
        if target is not None:
            dlqs.add(t.referenced_resource(target)[0])
    if not dlqs:
        findings.append("no queue has a dead-letter queue")
    for dlq in sorted(dlqs):
        props = t.resources.get(dlq, {}).get("Properties", {})
        retention = t.number(props.get("MessageRetentionPeriod", 345600), f"{dlq} retention")
        if retention != SQS_MAX_RETENTION:
            findings.append(f"{dlq}: MessageRetentionPeriod {retention:g} is not SQS's "
                            f"maximum {SQS_MAX_RETENTION}")
        worst = None
        for name, a in t.of_type({"AWS::CloudWatch::Alarm"}).items():
            p = a["Properties"]
            if p.get("MetricName") != "ApproximateAgeOfOldestMessage" or \
                    t.referenced_resource(p["Dimensions"][0]["Value"])[0] != dlq:
                continue
            th = p.get("Threshold")
            spec = t.doc["Parameters"].get(th.get("Ref")) if isinstance(th, dict) else None
            worst = float(spec["MaxValue"]) if spec and "MaxValue" in spec else \
                t.number(th, f"{name}.Threshold")
        if worst is None:
            findings.append(f"{dlq}: no ApproximateAgeOfOldestMessage alarm")
        elif worst > retention - DLQ_ALARM_MARGIN:
            findings.append(f"{dlq}: the age alarm may fire at {worst:g} s, less than 2 days "
                            f"before the {retention:g} s retention deletes the message")
        else:
            log(f"ok: {dlq} keeps messages {retention:g} s; its age alarm fires by {worst:g} s")


# ---------------------------------------------------------------- check 8


def check_queue_sizes(t, findings, log):
    for fn in t.of_type(FUNCTION_TYPES):
        url = t.function_env(fn).get("CLOUDLOG_QUEUE_URL")
        if url is None:
            continue
        text = t.canon(url) or ""
        queue, _ = t.referenced_resource(text.split("?", 1)[0])
        m = re.search(r"[?&]max_message_size=(\d+)(?:&|$)", text)
        stated = t.resources.get(queue, {}).get("Properties", {}).get("MaximumMessageSize")
        if queue not in t.of_type({"AWS::SQS::Queue"}):
            findings.append(f"{fn}: CLOUDLOG_QUEUE_URL {text!r} names no queue of the template")
        elif not m:
            findings.append(f"{fn}: CLOUDLOG_QUEUE_URL {text!r} lacks max_message_size= (the "
                            f"function would ask SQS for it at every cold start)")
        elif stated is None:
            findings.append(f"{queue}: MaximumMessageSize is not stated, so {fn}'s "
                            f"max_message_size={m.group(1)} may not match it")
        elif t.number(stated, f"{queue}.MaximumMessageSize") != float(m.group(1)):
            findings.append(f"{fn}: max_message_size={m.group(1)} but {queue} "
                            f"MaximumMessageSize is {t.canon(stated)}")
        else:
            log(f"ok: {fn} max_message_size={m.group(1)} = {queue} MaximumMessageSize")


# ---------------------------------------------------------------- what the code emits


def emf_config(t):
    """The (namespace, {dimension: template value}) every function is configured with."""
    configs = {}
    for name in t.of_type(FUNCTION_TYPES):
        env = t.function_env(name)
        ns = t.canon(env.get("CLOUDLOG_EMF_NAMESPACE", "cloudlog"))
        dims_text = t.canon(env.get("CLOUDLOG_EMF_DIMENSIONS", "")) or ""
        dims = dict(kv.split("=", 1) for kv in dims_text.split(",") if kv)
        configs[name] = (ns, dims)
    if not configs:
        raise ValueError("no functions in the template")
    first = next(iter(configs.values()))
    if any(c != first for c in configs.values()):
        raise ValueError(f"functions differ in their EMF namespace/dimensions: {configs}")
    return first


# Which stage of the code a function runs, from the package its CodeUri names.
STAGE_OF_PACKAGE = {"log_ingestor": "ingest", "log_processor": "process", "log_query": "query"}


def function_stages(t):
    """{function logical id: "ingest" | "process" | None (no metrics)}."""
    stages = {}
    for name in t.of_type(FUNCTION_TYPES):
        uri = t.canon(t.function_property(name, "CodeUri")) or ""
        found = [st for pkg, st in STAGE_OF_PACKAGE.items() if pkg in os.path.basename(uri)]
        if len(found) != 1:
            raise ValueError(f"{name}: cannot tell from CodeUri {uri!r} which function it is")
        stages[name] = found[0]
    return stages


def emitted_metrics(t, catalog_bin, ns, dims):
    """{(namespace, metric, (sorted dimension names)): {label dimension: {values}}} from
    the EMF documents emf_catalog prints for each function's stage, run with the
    function's EMF environment (configured dimension values replaced by "v")."""
    env = dict(os.environ, CLOUDLOG_EMF_NAMESPACE=ns,
               CLOUDLOG_EMF_DIMENSIONS=",".join(f"{k}=v" for k in dims))
    emitted = {}
    for stage in sorted(set(function_stages(t).values()) - {None}):
        out = subprocess.run([catalog_bin, stage], check=True, capture_output=True, text=True,
                             timeout=60, env=env).stdout
        for line in out.splitlines():
            collect_document(json.loads(line), dims, emitted)
    if not emitted:
        raise ValueError("emf_catalog printed no metrics")
    return emitted


def collect_document(doc, dims, emitted):
    for directive in doc["_aws"]["CloudWatchMetrics"]:
        for dimset in directive["Dimensions"]:
            for metric in directive["Metrics"]:
                key = (directive["Namespace"], metric["Name"], tuple(sorted(dimset)))
                labels = emitted.setdefault(key, {})
                for d in dimset:
                    if d not in dims:
                        labels.setdefault(d, set()).add(doc[d])


# ---------------------------------------------------------------- checks 2-4


class MetricChecker:
    def __init__(self, t, emitted, ns, dims):
        self.t, self.emitted, self.ns, self.dims = t, emitted, ns, dims

    def check(self, where, namespace, name, dimensions, findings):
        """dimensions: {name: canonical value}. Appends what is wrong to findings."""
        if namespace == self.ns:
            self._check_ours(where, name, dimensions, findings)
        elif namespace in AWS_METRICS:
            self._check_aws(where, namespace, name, dimensions, findings)
        else:
            findings.append(f"{where}: namespace {namespace!r} is neither the functions' "
                            f"({self.ns!r}) nor a known AWS one")

    def _check_ours(self, where, name, dimensions, findings):
        key = (self.ns, name, tuple(sorted(dimensions)))
        if key not in self.emitted:
            sets = sorted(k[2] for k in self.emitted if k[1] == name)
            findings.append(f"{where}: {self.ns}/{name} with dimensions {sorted(dimensions)} is "
                            f"not emitted (emitted dimension sets of {name}: {sets or 'none'})")
            return
        for d, value in dimensions.items():
            if d in self.dims and value != self.dims[d]:
                findings.append(f"{where}: {name} dimension {d}={value!r}, but the functions "
                                f"emit {d}={self.dims[d]!r}")
            elif d not in self.dims and value not in self.emitted[key].get(d, set()):
                findings.append(f"{where}: {name} dimension {d}={value!r} is not a value the "
                                f"code emits ({sorted(self.emitted[key].get(d, set()))})")

    def _check_aws(self, where, namespace, name, dimensions, findings):
        if name not in AWS_METRICS[namespace]:
            findings.append(f"{where}: {namespace} has no metric {name!r}")
        if not dimensions:
            findings.append(f"{where}: {namespace}/{name} has no dimension naming our resource")
        for d, value in dimensions.items():
            rule = AWS_DIMENSIONS[namespace].get(d)
            if rule is None:
                findings.append(f"{where}: {namespace}/{name} dimension {d!r} not expected")
                continue
            types, attr = rule
            res, got_attr = self.t.referenced_resource(value)
            rtype = self.t.resources.get(res, {}).get("Type")
            if rtype not in types or got_attr != attr:
                want = f"${{X.{attr}}}" if attr else "${X}"
                findings.append(f"{where}: {namespace}/{name} {d}={value!r} must be {want} of "
                                f"one of this template's {sorted(types)}")


def alarm_metrics(t, name, props, findings):
    """[(where, namespace, metric, {dim: value})] of one alarm, metric math checked."""
    out = []
    where = f"alarm {name}"
    if "MetricName" in props:
        out.append((where, t.canon(props.get("Namespace")), props["MetricName"],
                    dims_of(t, props.get("Dimensions", []))))
        return out
    queries = props.get("Metrics") or []
    ids = {q["Id"] for q in queries}
    returned = [q["Id"] for q in queries if q.get("ReturnData", True)]
    # An anomaly detection alarm returns its metric and its band (ThresholdMetricId).
    band = props.get("ThresholdMetricId")
    want = 2 if band else 1
    if len(returned) != want:
        findings.append(f"{where}: {len(returned)} queries return data (exactly {want} must)")
    if band and not any(q["Id"] == band and "ANOMALY_DETECTION_BAND(" in q.get("Expression", "")
                        for q in queries):
        findings.append(f"{where}: ThresholdMetricId {band!r} is not an ANOMALY_DETECTION_BAND")
    for q in queries:
        if "Expression" in q:
            check_expression(f"{where} {q['Id']}", q["Expression"], ids - {q["Id"]}, findings)
        else:
            m = q["MetricStat"]["Metric"]
            out.append((f"{where} {q['Id']}", t.canon(m.get("Namespace")), m["MetricName"],
                        dims_of(t, m.get("Dimensions", []))))
    return out


def dims_of(t, dimensions):
    return {d["Name"]: t.canon(d["Value"]) for d in dimensions}


EXPRESSION_WORDS = {"IF", "AND", "OR", "FILL", "SUM", "AVG", "MIN", "MAX", "ABS", "RATE",
                    "DIFF", "METRICS", "REPEAT", "LINEAR", "ANOMALY_DETECTION_BAND"}


def check_expression(where, expr, ids, findings):
    for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", expr):
        if word not in ids and word not in EXPRESSION_WORDS:
            findings.append(f"{where}: expression {expr!r} uses {word!r}, not a metric id here")


def dashboard_body(t, props):
    body = props["DashboardBody"]
    text = t.canon(body)
    if text is None:
        raise ValueError("DashboardBody must be a string or a !Sub string")
    return json.loads(text)


def dashboard_metrics(t, name, props, findings):
    out = []
    for wi, widget in enumerate(dashboard_body(t, props).get("widgets", [])):
        if widget.get("type") != "metric":
            continue
        title = widget.get("properties", {}).get("title", "")
        where = f"dashboard {name} widget {wi} ({title})"
        entries = widget["properties"].get("metrics", [])
        ids = {e[-1]["id"] for e in entries if isinstance(e[-1], dict) and "id" in e[-1]}
        for entry in entries:
            opts = entry[-1] if isinstance(entry[-1], dict) else {}
            if "expression" in opts:
                check_expression(where, opts["expression"], ids - {opts.get("id")}, findings)
                continue
            fields = entry[:-1] if opts else entry
            if "..." in fields or len(fields) < 2 or len(fields) % 2:
                findings.append(f"{where}: metric entry {entry} is not "
                                f"[namespace, name, dimension, value, ..., options?]")
                continue
            dims = dict(zip(fields[2::2], fields[3::2]))
            out.append((where, fields[0], fields[1], dims))
    return out


def run_checks(doc, catalog_bin, samconfig=None, log=print):
    """All findings for one template document (a list of strings); log(text) reports
    what passed."""
    findings = []
    t = Template(doc)
    check_visibility(t, findings, log)
    check_auth(doc, findings, log)
    check_dead_letters(t, findings, log)
    check_queue_sizes(t, findings, log)
    check_head_routes(t, findings, log)
    if samconfig:
        check_samconfig(doc, samconfig, findings, log)
    ns, dims = emf_config(t)
    checker = MetricChecker(t, emitted_metrics(t, catalog_bin, ns, dims), ns, dims)
    metrics = []
    alarms = t.of_type({"AWS::CloudWatch::Alarm"})
    for name, r in alarms.items():
        metrics += alarm_metrics(t, name, r["Properties"], findings)
    dashboards = t.of_type({"AWS::CloudWatch::Dashboard"})
    for name, r in dashboards.items():
        metrics += dashboard_metrics(t, name, r["Properties"], findings)
    if not alarms or not dashboards:
        findings.append("the template has no alarm or no dashboard")
    for where, namespace, name, dimensions in metrics:
        checker.check(where, namespace, name, dimensions, findings)
    ours = sum(1 for m in metrics if m[1] == ns)
    log(f"ok: checked {len(metrics)} metric references ({ours} in {ns!r}) in "
          f"{len(alarms)} alarms and {len(dashboards)} dashboard(s)")
    return findings


def check_samconfig(doc, samconfig, findings, log):
    with open(samconfig, "rb") as f:
        config = tomllib.load(f)
    params = doc.get("Parameters", {})
    n = 0
    for env, commands in config.items():
        if not isinstance(commands, dict):
            continue
        overrides = commands.get("deploy", {}).get("parameters", {}).get("parameter_overrides")
        if isinstance(overrides, str):
            overrides = shlex.split(overrides)
        for item in overrides or []:
            key, _, value = item.partition("=")
            n += 1
            where = f"{samconfig} [{env}] {key}"
            spec = params.get(key)
            if spec is None:
                findings.append(f"{where}: not a parameter of the template")
                continue
            if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
                findings.append(f"{where}={value!r} not in {spec['AllowedValues']}")
            if spec.get("Type") == "Number":
                try:
                    number = float(value)
                except ValueError:
                    findings.append(f"{where}={value!r} is not a number")
                    continue
                if number < spec.get("MinValue", number) or number > spec.get("MaxValue", number):
                    findings.append(f"{where}={value} outside [{spec.get('MinValue')}, "
                                    f"{spec.get('MaxValue')}]")
    log(f"ok: {n} parameter override(s) in {samconfig} match the template's parameters")


# ---------------------------------------------------------------- the checks can fail


def mutations(doc):
    """(description, mutated copy) pairs, each of which the checks must reject."""
    def mutate(desc, fn):
        d = copy.deepcopy(doc)
        fn(d["Resources"])
        return desc, d

    def body_replace(res, old, new):
        d = res["Dashboard"]["Properties"]["DashboardBody"]
        assert old in d["Fn::Sub"], old
        d["Fn::Sub"] = d["Fn::Sub"].replace(old, new, 1)

    def stat_metric(alarm, mid):
        return next(q for q in alarm["Properties"]["Metrics"] if q["Id"] == mid)["MetricStat"]

    return [
        mutate("visibility timeout below 6 x processor timeout",
               lambda r: r["IngestQueue"]["Properties"].update(VisibilityTimeout=300)),
        mutate("alarm on a metric the code does not emit",
               lambda r: stat_metric(r["ProcessingErrorRatioAlarm"], "errors")["Metric"]
               .update(MetricName="ProcessingFailures")),
        mutate("alarm on a daemon-only metric no function emits",
               lambda r: stat_metric(r["ProcessingErrorRatioAlarm"], "errors")["Metric"]
               .update(MetricName="QueueDepth")),
        mutate("alarm with a dimension the code does not emit",
               lambda r: stat_metric(r["ProcessingErrorRatioAlarm"], "processed")["Metric"]
               ["Dimensions"].append({"Name": "Function", "Value": "x"})),
        mutate("alarm with another Stack value",
               lambda r: stat_metric(r["ProcessingErrorRatioAlarm"], "processed")["Metric"]
               ["Dimensions"][0].update(Value="prod")),
        mutate("metric math naming an undefined id",
               lambda r: next(q for q in r["ProcessingErrorRatioAlarm"]["Properties"]["Metrics"]
                              if "Expression" in q).update(Expression="100 * errors / total")),
        mutate("AWS/SQS alarm on a queue that is not ours",
               lambda r: r["DeadLetterQueueAlarm"]["Properties"]["Dimensions"][0]
               .update(Value="someone-elses-queue")),
        mutate("AWS/Lambda alarm on a misspelt metric",
               lambda r: r["IngestorThrottlesAlarm"]["Properties"].update(MetricName="Throttle")),
        mutate("dashboard metric the code does not emit",
               lambda r: body_replace(r, '"StoredBytes"', '"StoreBytes"')),
        mutate("dashboard label value the code does not emit",
               lambda r: body_replace(r, '"Reason", "decode"', '"Reason", "parse"')),
        ("samconfig override of a parameter the template lacks",
         {**doc, "Parameters": {k: v for k, v in doc["Parameters"].items()
                                if k != "ProcessorMaxConcurrency"}}),
        ("samconfig override outside the parameter's range",
         {**doc, "Parameters": {**doc["Parameters"], "ProcessorMemorySize":
                                {**doc["Parameters"]["ProcessorMemorySize"], "MaxValue": 512}}}),
        ("no Rules: ApiAuth=ApiKey without keys accepted",
         {k: v for k, v in doc.items() if k != "Rules"}),
        mutate("ingestor told not to check keys in ApiKey mode",
               lambda r: r["IngestorFunction"]["Properties"]["Environment"]["Variables"]
               .update(CLOUDLOG_AUTH="none")),
        mutate("DLQ retention below the maximum",
               lambda r: r["DeadLetterQueue"]["Properties"].update(MessageRetentionPeriod=345600)),
        mutate("no DLQ age alarm",
               lambda r: r.pop("DeadLetterQueueAgeAlarm")),
        ("DLQ age alarm allowed within 2 days of deletion",
         {**doc, "Parameters": {**doc["Parameters"], "DeadLetterAgeAlarmSeconds":
                                {**doc["Parameters"]["DeadLetterAgeAlarmSeconds"],
                                 "MaxValue": 1209600}}}),
        mutate("queue size other than the ingestor's max_message_size",
               lambda r: r["IngestQueue"]["Properties"].update(MaximumMessageSize=262144)),
        mutate("queue size left to SQS's default",
               lambda r: r["IngestQueue"]["Properties"].pop("MaximumMessageSize")),
        mutate("ingestor queue URL without max_message_size",
               lambda r: r["IngestorFunction"]["Properties"]["Environment"]["Variables"]
               .update(CLOUDLOG_QUEUE_URL={"Ref": "IngestQueue"})),
        mutate("no HEAD route for the Loki read API",
               lambda r: r.pop("QueryRouteHead")),
        mutate("dashboard dimension set the code does not emit",
               lambda r: body_replace(r, '"IngestLatency", "Stack", "${AWS::StackName}",',
                                      '"IngestLatency", "Stack", "${AWS::StackName}", '
                                      '"StatusClass", "2xx",')),
    ]


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__)
        return 2
    template, catalog_bin = sys.argv[1], sys.argv[2]
    samconfig = sys.argv[3] if len(sys.argv) == 4 else None
    doc = load_template(template)
    findings = run_checks(doc, catalog_bin, samconfig)
    for f in findings:
        print(f"FINDING: {f}")
    missed = []
    for desc, mutated in mutations(doc):
        got = run_checks(mutated, catalog_bin, samconfig, log=lambda _text: None)
        print(f"{'ok' if got else 'MISSED'}: mutation '{desc}' -> {got[:1]}")
        if not got:
            missed.append(desc)
    print(f"{'PASS' if not findings and not missed else 'FAIL'}: {len(findings)} finding(s) "
          f"in {template}, {len(missed)} mutation(s) not detected")
    return 0 if not findings and not missed else 1


if __name__ == "__main__":
    sys.exit(main())
