"""The analytics evaluation entry points end to end: `cloudlog patterns learn` groups
stdin lines into NDJSON patterns (ids = hash of the final template, stable across runs),
and `cloudlog anomalies score` turns a NAB-format CSV into timestamp,value,anomaly_score
with a high score on an injected spike."""

import json
import subprocess
import unittest

import cltest


def run(args, data, timeout=60):
    p = subprocess.run([cltest.BIN] + args, input=data.encode(), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


class PatternsLearn(unittest.TestCase):
    LINES = ["Connection to 10.0.0.%d timed out after %d ms" % (i, 10 * i) for i in range(5)] + [
        "session opened for user %s by (uid=0)" % u for u in ("root", "news", "cyrus")] + [
        "Starting TrustedInstaller initialization.", "Starting TrustedInstaller finalization."]

    def learn(self):
        rc, out, err = run(["patterns", "learn"], "\n".join(self.LINES) + "\n")
        self.assertEqual(rc, 0, err)
        rows = [json.loads(l) for l in out.splitlines()]
        self.assertEqual(len(rows), len(self.LINES))
        return rows

    def test_groups_and_templates(self):
        rows = self.learn()
        self.assertEqual({r["pattern"] for r in rows[:5]}, {rows[0]["pattern"]})
        self.assertEqual(rows[0]["template"], "Connection to <*> timed out after <*>")
        self.assertEqual(rows[5]["template"], "session opened for user <*> by (uid=<*>)")
        self.assertEqual({r["pattern"] for r in rows[5:8]}, {rows[5]["pattern"]})
        self.assertNotEqual(rows[8]["pattern"], rows[9]["pattern"])
        for r in rows:
            self.assertRegex(r["pattern"], "^[0-9a-f]{16}$")
        self.assertEqual(rows, self.learn())  # same ids in another process

    def test_help_and_usage(self):
        rc, out, _ = run(["patterns", "learn", "--help"], "")
        self.assertEqual(rc, 0)
        self.assertIn("--max-clusters", out)
        self.assertEqual(run(["patterns", "bogus"], "")[0], 2)


class AnomaliesScore(unittest.TestCase):
    def test_spike_scores_high(self):
        rows = ["timestamp,value"]
        for i in range(600):
            value = 100 + (i * 37 % 11) - 5  # deterministic wiggle
            if i == 500:
                value = 400
            rows.append("2015-01-%02d %02d:%02d:00,%d" % (1 + i // 288, i % 288 // 12,
                                                           i % 12 * 5, value))
        rc, out, err = run(["anomalies", "score"], "\n".join(rows) + "\n")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0], "timestamp,value,anomaly_score")
        self.assertEqual(len(lines), 601)
        scores = [float(l.rsplit(",", 1)[1]) for l in lines[1:]]
        self.assertTrue(all(0 <= s <= 1 for s in scores))
        self.assertEqual(max(range(600), key=lambda i: scores[i]), 500)
        self.assertEqual(lines[501].rsplit(",", 1)[0], rows[501])

    def test_malformed_row(self):
        rc, _, err = run(["anomalies", "score"], "timestamp,value\nnot a row\n")
        self.assertEqual(rc, 1)
        self.assertIn("line 2", err)

    def test_numbers_out_of_range_are_malformed(self):
        for row in ("2015-01-01 00:00:00,nan", "2015-01-01 00:00:00,inf", "inf,5", "1e300,5",
                    "2147483647-01-01 00:00:00,5", "2015-13-01 00:00:00,5",
                    "2015-01-01 00:00:1e300,5"):
            rc, _, err = run(["anomalies", "score"],
                             "timestamp,value\n2015-01-01 00:00:00,1\n%s\n" % row)
            self.assertEqual(rc, 1, row)
            self.assertIn("line 3", err, row)


if __name__ == "__main__":
    cltest.main()
