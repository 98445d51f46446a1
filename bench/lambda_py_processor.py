"""lambda_py_processor.py - the log_processor's work written the way a Python 3 Lambda
would do it with the standard library only (base64, gzip, json), for the cost comparison
of issue 10: decode each SQS record's body, check and route every normalized line by its
service and hour, write one gzip NDJSON object per partition (to a local directory here,
where a Python Lambda would call S3 PutObject), and build the partial batch response.

    handler(event, store_dir) -> {"batchItemFailures": [...]}
"""

import base64
import gzip
import hashlib
import json
import os


def partition_of(line):
    rec = json.loads(line)  # a Python processor parses each record to read its head
    ts = rec["timestamp"]
    return "service=%s/dt=%s/hour=%s" % (rec["service"], ts[:10], ts[11:13]), ts


def handler(event, store_dir):
    failures, groups = [], {}
    records = sorted(event["Records"], key=lambda r: r["messageId"])
    for r in records:
        try:
            if r["messageAttributes"]["encoding"]["stringValue"] != "gzip":
                raise ValueError("encoding")
            lines = gzip.decompress(base64.b64decode(r["body"], validate=True)) \
                .decode().splitlines()
            routed = [(partition_of(l), l) for l in lines]
        except (ValueError, KeyError, OSError, EOFError):
            failures.append(r["messageId"])
            continue
        for (key, ts), line in routed:
            g = groups.setdefault(key, {"lines": [], "ids": set(), "min_ts": ts})
            g["lines"].append(line)
            g["ids"].add(r["messageId"])
            g["min_ts"] = min(g["min_ts"], ts)
    for key in sorted(groups):
        g = groups[key]
        h = hashlib.sha256((key + "\n" + "".join(i + "\n" for i in sorted(g["ids"]))).encode())
        t = g["min_ts"]
        oid = "%s%s%sT%s%s%sZ-%s" % (t[0:4], t[5:7], t[8:10], t[11:13], t[14:16], t[17:19],
                                     h.hexdigest()[:16])
        path = os.path.join(store_dir, key, oid + ".ndjson.gz")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(gzip.compress(("\n".join(g["lines"]) + "\n").encode(), compresslevel=1))
    return {"batchItemFailures": [{"itemIdentifier": i} for i in failures]}
