"""End-to-end tests of GET /metrics (Prometheus text) and --emf (CloudWatch EMF lines):
values after a known workload, `promtool check metrics`, the EMF spec's structure."""

import json
import os
import re
import shutil
import subprocess
import time
import unittest

import cltest

# Units a MetricDefinition may name (aws-reference.md section 6, the spec's schema regex).
EMF_UNITS = {
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
    "Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count",
    "Bytes/Second", "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second",
    "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None"}

SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')


def parse_prom(text):
    """{(name, labels text or ''): float} and {name: type} from an exposition."""
    values, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            types[name] = typ
        elif line and not line.startswith("#"):
            m = SAMPLE_RE.match(line)
            if not m:
                raise AssertionError("bad sample line %r" % line)
            values[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return values, types


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_emf_doc(tc, doc):
    """Asserts the spec's rules (aws-reference.md section 6) on one parsed document."""
    tc.assertIsInstance(doc, dict)
    aws = doc.get("_aws")
    tc.assertIsInstance(aws, dict)
    tc.assertEqual(set(aws), {"Timestamp", "CloudWatchMetrics"})
    tc.assertIsInstance(aws["Timestamp"], int)
    tc.assertGreater(aws["Timestamp"], 1500000000000)
    tc.assertIsInstance(aws["CloudWatchMetrics"], list)
    for d in aws["CloudWatchMetrics"]:
        tc.assertEqual(set(d), {"Namespace", "Dimensions", "Metrics"})
        tc.assertIsInstance(d["Namespace"], str)
        tc.assertTrue(1 <= len(d["Namespace"]) <= 1024)
        tc.assertIsInstance(d["Dimensions"], list)
        tc.assertGreaterEqual(len(d["Dimensions"]), 1)
        for ds in d["Dimensions"]:
            tc.assertIsInstance(ds, list)
            tc.assertLessEqual(len(ds), 30)
            for key in ds:
                tc.assertIsInstance(key, str)
                tc.assertTrue(1 <= len(key) <= 250)
                tc.assertIsInstance(doc.get(key), str, "dimension %s not a root string" % key)
                tc.assertLessEqual(len(doc[key]), 1024)
        tc.assertLessEqual(len(d["Metrics"]), 100)
        for md in d["Metrics"]:
            tc.assertTrue(set(md) <= {"Name", "Unit", "StorageResolution"}, md)
            tc.assertIsInstance(md["Name"], str)
            tc.assertIn(md.get("Unit", "None"), EMF_UNITS)
            v = doc.get(md["Name"])
            if isinstance(v, list):
                tc.assertLessEqual(len(v), 100)
                tc.assertTrue(all(is_number(x) for x in v), v)
            else:
                tc.assertTrue(is_number(v), "metric %s = %r" % (md["Name"], v))


def run_promtool(tc, text):
    promtool = shutil.which("promtool")
    if not promtool:
        msg = "promtool not found (Debian package prometheus; scripts/setup.sh installs it)"
        if os.environ.get("CI") == "true":
            tc.fail(msg)
        raise unittest.SkipTest(msg)
    p = subprocess.run([promtool, "check", "metrics"], input=text.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    tc.assertEqual(p.returncode, 0, "promtool check metrics: %s\n%s"
                   % (p.stdout.decode("utf-8", "replace"), text))


def records(n, start=0):
    return [{"timestamp": "2026-11-25T10:00:%02d.000Z" % (i % 60), "level": "info",
             "service": "metrics-e2e", "message": "m%d" % i} for i in range(start, start + n)]


class WorkloadTest(cltest.DaemonTestCase):
    """One daemon, one known workload; checks /metrics and the EMF file against it."""

    def setUp(self):
        super().setUp()
        self.emf = os.path.join(cltest.mkdtemp("cl-emf-"), "emf.jsonl")
        self.d = self.daemon(args=["--emf", self.emf, "--emf-interval", "1s",
                                   "--emf-dimensions", "service=cloudlog,env=e2e",
                                   "--flush-age", "200ms"])

    def workload(self):
        """2 requests accepted (15 records, 2 rejected), a 400 (2 records), a 415."""
        self.assertAccepted(self.d.post_logs(records(10)), 10)
        self.assertAccepted(self.d.post_logs(records(5, 10) + [1, "x"]), 5, 2)
        st, _, js = self.d.post_logs([1, 2])
        self.assertEqual(st, 400, js)
        st, _, js = self.d.post_logs(records(1), content_type="image/png")
        self.assertEqual(st, 415, js)
        cltest.wait_drained(self.d.data_dir, daemon=self.d)

    def scrape(self):
        st, hd, body = self.d.request("GET", "/metrics")
        self.assertEqual(st, 200, body)
        self.assertEqual(hd.get("content-type"), "text/plain; version=0.0.4; charset=utf-8")
        return body.decode("utf-8")

    def test_metrics_match_workload(self):
        self.workload()
        stored = cltest.stored_lines(self.d.data_dir)
        n_objects = len(stored)
        stored_bytes = sum(o["size"] for o, _ in stored)
        line_bytes = sum(len(l.encode()) + 1 for _, lines in stored for l in lines)
        self.assertEqual(sum(len(lines) for _, lines in stored), 15)

        text = self.scrape()
        v, types = parse_prom(text)
        self.assertEqual(v[("cloudlog_ingested_log_count_total", "")], 15)
        self.assertEqual(v[("cloudlog_rejected_log_count_total", "")], 4)
        self.assertEqual(v[("cloudlog_ingested_bytes_total", "")], line_bytes)
        req = "cloudlog_ingest_requests_total"
        self.assertEqual(v[(req, '{status_class="2xx"}')], 2)
        self.assertEqual(v[(req, '{status_class="4xx"}')], 2)
        self.assertEqual(v[(req, '{status_class="5xx"}')], 0)
        self.assertEqual(v[("cloudlog_processed_log_count_total", "")], 15)
        self.assertEqual(v[("cloudlog_objects_written_total", "")], n_objects)
        self.assertEqual(v[("cloudlog_stored_bytes_total", "")], stored_bytes)
        for g in ("queue_depth", "queue_in_flight", "dlq_depth", "oldest_message_age_seconds"):
            self.assertEqual(v[("cloudlog_" + g, "")], 0, g)
            self.assertEqual(types["cloudlog_" + g], "gauge")
        for reason in ("receive", "decode", "catalog", "store", "publish"):
            self.assertEqual(v[("cloudlog_processing_errors_total", '{reason="%s"}' % reason)], 0)
        self.assertEqual(v[("cloudlog_retries_total", "")], 0)
        self.assertEqual(v[("cloudlog_redriven_total", "")], 0)
        # Latencies: counts exact, values plausible.
        lat = "cloudlog_ingest_latency_seconds"
        self.assertEqual(types[lat], "histogram")
        self.assertEqual(v[(lat + "_count", "")], 2)
        self.assertEqual(v[(lat + "_bucket", '{le="+Inf"}')], 2)
        self.assertTrue(0 < v[(lat + "_sum", "")] < 60, v[(lat + "_sum", "")])
        e2e = "cloudlog_end_to_end_latency_seconds"
        # One observation per message and object: 2 messages, one partition here.
        self.assertEqual(v[(e2e + "_count", "")], 2)
        self.assertTrue(0 < v[(e2e + "_sum", "")] < 120, v[(e2e + "_sum", "")])
        run_promtool(self, text)

    def test_emf_lines(self):
        self.workload()
        self.d.stop()  # the last interval is written at shutdown
        docs = []
        with open(self.emf, encoding="utf-8") as f:
            for line in f:
                self.assertTrue(line.endswith("\n"))
                docs.append(json.loads(line))
        self.assertGreater(len(docs), 0)
        totals, by_class, latencies = {}, {}, []
        for doc in docs:
            check_emf_doc(self, doc)
            self.assertEqual(doc["service"], "cloudlog")
            self.assertEqual(doc["env"], "e2e")
            directive = doc["_aws"]["CloudWatchMetrics"][0]
            self.assertEqual(directive["Namespace"], "cloudlog")
            dims = directive["Dimensions"]
            if dims == [["service", "env"]]:
                for md in directive["Metrics"]:
                    if isinstance(doc[md["Name"]], list):
                        self.assertEqual(md["Unit"], "Milliseconds")
                    else:
                        totals[md["Name"]] = totals.get(md["Name"], 0) + doc[md["Name"]]
                latencies += doc.get("IngestLatency", [])
            elif dims == [["service", "env", "StatusClass"]]:
                by_class[doc["StatusClass"]] = by_class.get(doc["StatusClass"], 0) + \
                    doc["IngestRequests"]
            else:
                self.assertEqual(dims, [["service", "env", "Reason"]])
                self.assertEqual(doc["ProcessingErrors"], 0)
        self.assertEqual(totals["IngestedLogCount"], 15)
        self.assertEqual(totals["RejectedLogCount"], 4)
        self.assertEqual(totals["IngestRequests"], 4)
        self.assertEqual(totals["ProcessedLogCount"], 15)
        self.assertEqual(totals["ObjectsWritten"], len(cltest.stored_lines(self.d.data_dir)))
        self.assertEqual(totals["ProcessingErrors"], 0)
        self.assertEqual(by_class, {"2xx": 2, "4xx": 2, "5xx": 0})
        self.assertEqual(len(latencies), 2)
        self.assertTrue(all(0 < x < 60000 for x in latencies), latencies)
        last = [d for d in docs if "QueueDepth" in d][-1]  # gauges: sampled at shutdown
        for name in ("QueueDepth", "QueueInFlight", "DLQDepth", "OldestMessageAgeSeconds"):
            self.assertEqual(last[name], 0, name)


class ProcessMetricsTest(cltest.DaemonTestCase):
    """cloudlog_build_info and the process_* metrics of Prometheus' client libraries."""

    def test_build_info_and_process_metrics(self):
        t0 = time.time()
        d = self.daemon()
        st, _, body = d.request("GET", "/metrics")
        self.assertEqual(st, 200)
        text = body.decode()
        v, types = parse_prom(text)
        rc, out, _ = cltest.run_cli(["--version"])
        version = out.split()[1]
        info = [k for k in v if k[0] == "cloudlog_build_info"]
        self.assertEqual(len(info), 1, info)
        self.assertTrue(info[0][1].startswith('{version="%s"' % version), info)
        self.assertEqual(v[info[0]], 1)
        self.assertEqual(types["cloudlog_build_info"], "gauge")
        self.assertEqual(types["process_cpu_seconds_total"], "counter")
        self.assertGreaterEqual(v[("process_cpu_seconds_total", "")], 0)
        for g in ("process_resident_memory_bytes", "process_virtual_memory_bytes",
                  "process_open_fds", "process_max_fds", "process_start_time_seconds"):
            self.assertEqual(types[g], "gauge", g)
        rss_kib = d.vm_rss_kib()
        self.assertGreater(v[("process_resident_memory_bytes", "")], 0)
        # Same order of magnitude as VmRSS read now (memory moves between the reads).
        self.assertLess(v[("process_resident_memory_bytes", "")], 4 * rss_kib * 1024)
        self.assertGreaterEqual(v[("process_open_fds", "")], 3)
        self.assertLessEqual(v[("process_open_fds", "")], v[("process_max_fds", "")])
        start = v[("process_start_time_seconds", "")]
        self.assertTrue(t0 - 2 <= start <= time.time() + 2, (t0, start))
        run_promtool(self, text)


class AccessTest(cltest.DaemonTestCase):
    def test_keys_protect_metrics(self):
        kd = cltest.mkdtemp("cl-keys-")
        path = os.path.join(kd, "keys")
        with open(path, "w") as f:
            f.write("scrape-key\n")
        d = self.daemon(args=["--api-key-file", path])
        st, hd, _ = d.request("GET", "/metrics")
        self.assertEqual(st, 401)
        self.assertEqual(hd.get("www-authenticate"), "Bearer")
        st, _, body = d.request("GET", "/metrics", headers={"Authorization": "Bearer scrape-key"})
        self.assertEqual(st, 200)
        self.assertIn(b"# TYPE cloudlog_ingested_log_count_total counter", body)

    def test_method_and_open_scrape(self):
        d = self.daemon()
        st, _, _ = d.request("POST", "/metrics", body=b"")
        self.assertEqual(st, 405)
        st, _, body = d.request("GET", "/metrics")
        self.assertEqual(st, 200)
        run_promtool(self, body.decode())

    def test_bad_emf_options_refused(self):
        data = cltest.mkdtemp("cl-data-")
        for extra in (["--emf-dimensions", "novalue"], ["--emf-dimensions", "QueueDepth=1"],
                      ["--emf-namespace", ""]):
            rc, out = cltest.expect_refusal(["serve", "--listen", "127.0.0.1:0", "--data", data,
                                             "--emf", "-"] + extra)
            self.assertEqual(rc, 1, out)
            self.assertIn("EMF", out)


if __name__ == "__main__":
    cltest.main()
