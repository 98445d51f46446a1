#!/usr/bin/env python3
"""chaos.py - reliability benchmark: kill -9 cycles, a full disk and a store outage under load.

A benchmark, not a test (docs/reliability.md has the figures and the commands): it runs
for minutes and prints what happened to every acknowledged record. Loopback only.

Parts (--parts, default all three):

  crash  POSTERS threads post NDJSON batches of BATCH records, each record with a unique
         id, to one daemon; every 0.3..1.5 s the daemon gets SIGKILL and is restarted on
         the same data directory, CYCLES times. On every TRUNCATE_EVERY-th restart the
         queue's WAL first loses a random part of its tail past its last valid commit
         frame: the bytes a power cut may take (written, never fsync'd, so never
         acknowledged). A batch whose answer was lost is posted again with the same
         Idempotency-Key, as a client that retries does. After the last cycle the daemon
         drains; then every stored object is read back.
  disk   The data directory is on a small tmpfs (mount -o size=DISK_MB; needs root) that a
         ballast file fills; posts go on until the daemon refuses them (507/503), the
         ballast is removed, and posting resumes without a restart.
  store  The store directory is replaced by a regular file for STORE_DOWN seconds under
         load (every object write fails), then put back.

For each part it prints: records acknowledged, stored once, lost (acknowledged, not
stored, not in the DLQ), duplicated (stored more than once), in the DLQ, ambiguous
batches (no answer; posted again), restarts, and the time from each restart to the
first acknowledged batch (p50/p99).

Usage: bench/chaos.py [--bin build-release/cloudlog] [--parts crash,disk,store]
                      [--cycles 100] [--posters 4] [--batch 200] [--truncate-every 5]
                      [--disk-mb 64] [--store-down 300] [--seed 1]
"""

import argparse
import collections
import gzip
import http.client
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
import cltest  # noqa: E402  (Daemon, store_scan, queue_counts: the e2e tests' helpers)

SERVE_ARGS = ["--flush-age", "500ms", "--retry-base", "100ms", "--retry-max", "2s"]


# -- posting ---------------------------------------------------------------------------

class Ledger:
    """What the posters were told: ids acknowledged, batches without an answer."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = set()
        self.ambiguous = 0
        self.refused = collections.Counter()  # status -> batches refused (retried)
        self.first_ack_after = None  # monotonic time of the first 202 after a restart

    def ack(self, ids):
        with self.lock:
            self.acked.update(ids)
            if self.first_ack_after is None:
                self.first_ack_after = time.monotonic()


class Poster(threading.Thread):
    """Posts batches until stopped; a batch is re-posted (same key) until a 202 answers."""

    def __init__(self, index, daemon_ref, ledger, batch, stop):
        super().__init__(daemon=True)
        self.index, self.daemon_ref, self.ledger = index, daemon_ref, ledger
        self.batch, self.stop_event, self.seq = batch, stop, 0

    def run(self):
        while not self.stop_event.is_set():
            ids = ["%d-%d" % (self.index, self.seq + i) for i in range(self.batch)]
            self.seq += self.batch
            body = "".join(json.dumps({"service": "chaos", "message": "chaos record " + i,
                                       "id": i}) + "\n" for i in ids).encode()
            key = "chaos-%d-%d" % (self.index, self.seq)
            self.post_until_acked(ids, body, key)

    def post_until_acked(self, ids, body, key):
        headers = {"Content-Type": "application/x-ndjson", "Idempotency-Key": key}
        for _ in range(100000):
            if self.stop_event.is_set():
                return
            port = self.daemon_ref[0].port
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                c.request("POST", "/v1/logs", body=body, headers=headers)
                r = c.getresponse()
                r.read()
                c.close()
            except (OSError, http.client.HTTPException, TypeError):
                with self.ledger.lock:
                    self.ledger.ambiguous += 1
                time.sleep(0.05)
                continue
            if r.status == 202:
                self.ledger.ack(ids)
                return
            with self.ledger.lock:
                self.ledger.refused[r.status] += 1
            time.sleep(0.05)


# -- the WAL's valid end ----------------------------------------------------------------

def wal_valid_end(path):
    """Byte offset just past the WAL's last valid commit frame (salts and cumulative
    checksums as SQLite's WAL format defines them), 0 when the header is not valid."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return 0
    if len(data) < 32:
        return 0
    magic, _version, page_size, _seq, salt1, salt2 = struct.unpack(">6I", data[:24])
    if magic not in (0x377F0682, 0x377F0683):
        return 0
    order = ">" if magic & 1 else "<"
    s0, s1 = wal_checksum(data[:24], order, 0, 0)
    if (s0, s1) != struct.unpack(">2I", data[24:32]):
        return 0
    end, off, frame = 0, 32, 24 + page_size
    while off + frame <= len(data):
        pgno, commit, fs1, fs2, c0, c1 = struct.unpack(">6I", data[off:off + 24])
        if pgno == 0 or (fs1, fs2) != (salt1, salt2):
            break
        s0, s1 = wal_checksum(data[off:off + 8], order, s0, s1)
        s0, s1 = wal_checksum(data[off + 24:off + frame], order, s0, s1)
        if (s0, s1) != (c0, c1):
            break
        off += frame
        if commit:
            end = off
    return end


def wal_checksum(buf, order, s0, s1):
    words = struct.unpack("%s%dI" % (order, len(buf) // 4), buf)
    for i in range(0, len(words), 2):
        s0 = (s0 + words[i] + s1) & 0xFFFFFFFF
        s1 = (s1 + words[i + 1] + s0) & 0xFFFFFFFF
    return s0, s1


def tear_wal_tail(db_path, rng):
    """Cuts the WAL at a random offset past its last valid commit; returns bytes cut."""
    wal = db_path + "-wal"
    if not os.path.exists(wal):
        return 0
    size = os.path.getsize(wal)
    end = wal_valid_end(wal)
    if size <= end:
        return 0
    cut = rng.randint(end, size - 1)
    os.truncate(wal, cut)
    return size - cut


# -- reading back -----------------------------------------------------------------------

def stored_ids(data_dir):
    """Counter of record ids over every published object."""
    ids = collections.Counter()
    objs, _, _ = cltest.store_scan(data_dir)
    for o in objs:
        with gzip.open(o["path"], "rt") as f:
            for line in f:
                rid = json.loads(line).get("id")
                if rid is not None:
                    ids[rid] += 1
    return ids


def dlq_ids(db_path):
    ids = collections.Counter()
    db = cltest.open_db(db_path)
    try:
        rows = db.execute("SELECT body, encoding FROM dlq").fetchall()
    finally:
        db.close()
    for body, encoding in rows:
        for line in cltest.decode_body(body, encoding):
            ids[json.loads(line).get("id")] += 1
    return ids


def wait_drained(data_dir, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msgs, _dlq, unpublished = cltest.queue_counts(os.path.join(data_dir, "queue.db"))
            if msgs == 0 and unpublished == 0:
                return True
        except Exception:
            pass
        time.sleep(0.25)
    return False


def report(name, ledger, data_dir, restarts, resume_s, extra=""):
    stored = stored_ids(data_dir)
    dlq = dlq_ids(os.path.join(data_dir, "queue.db"))
    lost = [i for i in ledger.acked if i not in stored and i not in dlq]
    dup = sum(1 for n in stored.values() if n > 1)
    resume_s.sort()
    pct = lambda q: resume_s[min(len(resume_s) - 1, int(q * len(resume_s)))] if resume_s else 0
    print("%-6s acknowledged %d  stored %d  lost %d  duplicated %d  in DLQ %d  ambiguous %d"
          "  refused %s  restarts %d  resume p50 %.3f s p99 %.3f s%s"
          % (name, len(ledger.acked), len(stored), len(lost), dup, sum(dlq.values()),
             ledger.ambiguous, dict(ledger.refused), restarts, pct(0.5), pct(0.99), extra),
          flush=True)
    return len(lost), dup


# -- parts ------------------------------------------------------------------------------

def run_posters(args, daemon_ref, ledger):
    stop = threading.Event()
    posters = [Poster(i, daemon_ref, ledger, args.batch, stop) for i in range(args.posters)]
    for p in posters:
        p.start()
    return stop, posters


def finish(stop, posters, daemon, data_dir, args):
    stop.set()
    for p in posters:
        p.join(timeout=60)
    drained = wait_drained(data_dir, args.drain_timeout)
    daemon.stop(timeout=120)
    return "" if drained else "  (NOT drained in %ds)" % args.drain_timeout


def part_crash(args, rng):
    data = cltest.mkdtemp("chaos-crash-")
    daemon = cltest.Daemon(data, SERVE_ARGS).start()
    ledger, ref = Ledger(), [daemon]
    stop, posters = run_posters(args, ref, ledger)
    resume, torn = [], 0
    for cycle in range(args.cycles):
        time.sleep(rng.uniform(0.3, 1.5))
        daemon.kill()
        if args.truncate_every and (cycle + 1) % args.truncate_every == 0:
            torn += tear_wal_tail(os.path.join(data, "queue.db"), rng)
        with ledger.lock:
            ledger.first_ack_after = None
        t0 = time.monotonic()
        daemon = cltest.Daemon(data, SERVE_ARGS).start()
        ref[0] = daemon
        for _ in range(600):
            if ledger.first_ack_after is not None:
                resume.append(ledger.first_ack_after - t0)
                break
            time.sleep(0.01)
    note = finish(stop, posters, daemon, data, args)
    return report("crash", ledger, data, args.cycles, resume,
                  "  WAL bytes torn %d%s" % (torn, note))


def part_disk(args, rng):
    mnt = cltest.mkdtemp("chaos-disk-")
    if os.geteuid() != 0 or subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=%dm" % args.disk_mb, "tmpfs", mnt]).returncode:
        print("disk   skipped: mounting a tmpfs needs root")
        return 0, 0
    try:
        data = os.path.join(mnt, "data")
        daemon = cltest.Daemon(data, SERVE_ARGS).start()
        ledger, ref = Ledger(), [daemon]
        stop, posters = run_posters(args, ref, ledger)
        time.sleep(2)
        ballast = os.path.join(mnt, "ballast")
        subprocess.run(["dd", "if=/dev/zero", "of=" + ballast, "bs=1M",
                        "count=%d" % args.disk_mb], stderr=subprocess.DEVNULL)
        time.sleep(args.full_seconds)
        refused_full = sum(ledger.refused.values())
        os.unlink(ballast)
        time.sleep(5)
        note = finish(stop, posters, daemon, data, args)
        return report("disk", ledger, data, 0, [],
                      "  batches refused while full %d%s" % (refused_full, note))
    finally:
        subprocess.run(["umount", "-l", mnt])


def part_store(args, rng):
    data = cltest.mkdtemp("chaos-store-")
    daemon = cltest.Daemon(data, SERVE_ARGS).start()
    ledger, ref = Ledger(), [daemon]
    stop, posters = run_posters(args, ref, ledger)
    time.sleep(2)
    logs, away = os.path.join(data, "logs"), os.path.join(data, "logs.away")
    os.rename(logs, away)
    with open(logs, "w") as f:
        f.write("not a directory\n")
    time.sleep(args.store_down)
    os.unlink(logs)
    os.rename(away, logs)
    time.sleep(5)
    note = finish(stop, posters, daemon, data, args)
    return report("store", ledger, data, 0, [], "  outage %ds%s" % (args.store_down, note))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build-release", "cloudlog"))
    ap.add_argument("--parts", default="crash,disk,store")
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--posters", type=int, default=4)
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--truncate-every", type=int, default=5)
    ap.add_argument("--disk-mb", type=int, default=64)
    ap.add_argument("--full-seconds", type=int, default=10)
    ap.add_argument("--store-down", type=int, default=300)
    ap.add_argument("--drain-timeout", type=int, default=600)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    cltest.BIN = os.path.abspath(args.bin)
    cltest.TMP_ROOT = tempfile.mkdtemp(prefix="cl-chaos-")
    rng = random.Random(args.seed)
    bad = 0
    for part in args.parts.split(","):
        lost, dup = {"crash": part_crash, "disk": part_disk, "store": part_store}[part](args, rng)
        bad += lost + dup
    shutil.rmtree(cltest.TMP_ROOT, ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
