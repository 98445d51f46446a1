"""kill -9 under concurrent load: every record of every acknowledged (202) request is in
queue.db exactly once, nothing from a refused request is, nothing is duplicated, and
the database passes PRAGMA integrity_check. Several rounds restart on the same data dir.

Set CL_E2E_SEED to replay a run; the seed is printed."""

import collections
import http.client
import json
import os
import random
import threading
import time

import cltest

# These tests read the queue back; no processor may drain it.
cltest.ingest_only()

THREADS = 6
ROUNDS = int(os.environ.get("CL_E2E_KILL_ROUNDS", "5"))


class Client(cltest.LoadClient):
    """Unique records with random padding."""

    def make_record(self, seq, req):
        return {"message": "load %s" % seq, "seq": seq, "req": req,
                "pad": "p" * self.rng.randint(0, 300)}


class KillNine(cltest.DaemonTestCase):
    def test_kill9_under_load_loses_no_acknowledged_record(self):
        seed = int(os.environ.get("CL_E2E_SEED", str(int(time.time() * 1000) % 1000000)))
        print("CL_E2E_SEED=%d" % seed, flush=True)
        rng = random.Random(seed)
        data = cltest.mkdtemp("cl-kill9-")
        results, lock = [], threading.Lock()

        for rnd in range(ROUNDS):
            durability = "full" if rnd % 2 == 0 else "process"
            args = ["--durability", durability]
            if rnd % 4 >= 2:
                args += ["--max-message", "4KiB"]  # requests span several messages
            d = self.daemon(data_dir=data, args=args)
            n_acked = cltest.kill_under_load(self, d, Client, rnd, rng, THREADS, results, lock,
                                             1.0)
            print("round %d (%s): %d acknowledged requests" % (rnd, " ".join(args), n_acked),
                  flush=True)

        # The crashed files, as left by the last kill -9 (recovered on a copy).
        self.assertEqual(cltest.integrity_check(os.path.join(data, "queue.db"), copy=True), ["ok"])
        lines = cltest.all_records(os.path.join(data, "queue.db"), copy=True)
        self.verify(results, lines)
        for m in cltest.read_messages(os.path.join(data, "queue.db"), copy=True):
            cltest.check_message_attrs(self, m)

        # A daemon restarted on the same directory sees the same records and stops cleanly.
        d = self.daemon(data_dir=data)
        self.assertEqual(sorted(d.records()), sorted(lines))
        d.stop()
        self.assertEqual(cltest.integrity_check(os.path.join(data, "queue.db")), ["ok"])

    def verify(self, results, lines):
        counts = collections.Counter(json.loads(l)["seq"] for l in lines)
        dups = [s for s, c in counts.items() if c > 1]
        self.assertEqual(dups[:10], [], "%d records stored more than once" % len(dups))
        outcomes = collections.Counter(o.split(":")[0] for _, _, o in results)
        print("outcomes: %s; %d records stored" % (dict(outcomes), len(lines)), flush=True)
        missing, refused_stored, partial_unknown = [], [], []
        for req, seqs, outcome in results:
            present = [s for s in seqs if counts.get(s)]
            if outcome == "acked":
                missing.extend(s for s in seqs if not counts.get(s))
            elif outcome.startswith("refused"):
                refused_stored.extend(present)
            elif outcome == "unknown" and 0 < len(present) < len(seqs):
                partial_unknown.append(req)
        self.assertEqual(missing[:10], [], "%d acknowledged records lost" % len(missing))
        self.assertEqual(refused_stored[:10], [], "records of refused requests were stored")
        # An unanswered request may be stored or not; the contract does not say it is
        # atomic when it spans several messages, so this is reported, not asserted.
        print("unanswered requests stored in part: %d" % len(partial_unknown), flush=True)
        known = {s for _, seqs, _ in results for s in seqs}
        self.assertEqual([s for s in counts if s not in known][:10], [], "unknown records stored")
        self.assertNotIn("partial", outcomes)


if __name__ == "__main__":
    cltest.main()
