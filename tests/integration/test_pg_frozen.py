#!/usr/bin/env python3
"""A replica that stops while it holds the write lock must not stop the others (issue 15).

Every write transaction on a shared ledger takes one advisory lock (one writer at a time,
across replicas). Two ways it could hang every replica, both bounded by ledger.lease (3s
here):
- something else holds the lock for long (here psql, for 8 s): a replica waiting for it
  gives up after a lease (lock_timeout) and answers 503, which senders retry, instead of
  blocking its event loop until the lock comes free; after that it accepts again;
- a replica is frozen (SIGSTOP: a paused VM or container, a stuck node) in the middle of a
  transaction: the server ends its session a lease later
  (idle_in_transaction_session_timeout), which releases the lock, and the other replica
  takes events again. Once thawed, the frozen replica reconnects by itself; what it had not
  answered is not acknowledged (its senders retry), and every event answered 202 by either
  replica is in the ledger.
Needs PostgreSQL's binaries (Debian's postgresql package): skipped without them."""

import random
import signal
import subprocess
import threading
import time

import harness
from harness import Daemon, base_confd, sample_json, wait_until

DEGRADED = "seed-aks-store-degraded.client_payload.json"
LEASE_S = 3


def event(app, n):
    p = sample_json("argocd", DEGRADED)
    p["app_name"] = app
    p["revision"] = "%040x" % n
    return p


def lock_held_idle(d, key):
    """Whether a session holds the write lock while idle in a transaction."""
    return d.sql("SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                 " WHERE l.locktype = 'advisory' AND l.granted AND a.state = "
                 "'idle in transaction' AND ((l.classid::bigint << 32) | l.objid::bigint) = "
                 "(%s::bigint)" % key) == [(1,)]


def main(t):
    if not harness.pg_available():
        t.skip("a frozen replica", "PostgreSQL's binaries are not installed "
               "(apt-get install postgresql)")
        return
    server = harness.pg_server()
    url = harness.pg_new_database()
    key = harness.source_define("store/store_int.h", "STORE_PG_WRITE_LOCK_STR")
    confd = base_confd(extra="ledger:\n  lease: %ds\n" % LEASE_S)
    a = Daemon(t, confd, db=url, env={"INCIDENTD_REPLICA_ID": "replica-a"})
    b = Daemon(t, confd, db=url, env={"INCIDENTD_REPLICA_ID": "replica-b"})
    accepted = []

    def post(d, app, n, timeout=30):
        t0 = time.monotonic()
        try:
            code, _, ans = d.post("/v1/events/argocd", event(app, n), timeout=timeout)
        except OSError as e:
            return type(e).__name__, time.monotonic() - t0
        if code == 202:
            accepted.extend(ans["events"])
        return code, time.monotonic() - t0

    t.eq(post(a, "a", 1)[0], 202, "replica a accepts")
    t.eq(post(b, "b", 2)[0], 202, "replica b accepts")

    # --- the lock held elsewhere for longer than a lease ---------------------------------
    holder = subprocess.Popen(harness.psql_argv(
        url, "BEGIN; SELECT pg_advisory_xact_lock(%s); SELECT pg_sleep(8); COMMIT;" % key),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    code, took = post(b, "b", 3)
    t.eq(code, 503, "while the lock is held elsewhere: 503 (the sender retries)")
    t.ok(LEASE_S - 0.5 <= took < LEASE_S + 3,
         "after about a lease of waiting (%.1f s), not until the lock is free (8 s)" % took)
    t.eq(b.get("/healthz")[0], 200, "the replica serves again right after")
    holder.wait(30)
    t.ok(wait_until(lambda: post(b, "b", 4)[0] == 202, 10, 0.3),
         "once the lock is free: 202 again")
    t.ok(b.wait_log(r"ingest: cannot begin a ledger transaction \(.*lock timeout", 1) is not None,
         "the failed pass is in the log", "\n".join(b.lines()[-20:]))

    # --- replica a frozen in the middle of a transaction ---------------------------------
    stop = threading.Event()

    def load():
        n = 1000
        while not stop.is_set():
            n += 1
            post(a, "load-%d" % (n % 7), n, timeout=60)

    senders = [threading.Thread(target=load) for _ in range(4)]
    for s in senders:
        s.start()
    caught = False
    for _ in range(60):
        time.sleep(random.uniform(0.05, 0.2))
        a.signal(signal.SIGSTOP)
        time.sleep(0.05)
        if lock_held_idle(b, key):
            caught = True
            break
        a.signal(signal.SIGCONT)
    t.ok(caught, "replica a stopped while holding the write lock in a transaction")
    if not caught:
        stop.set()
        for s in senders:
            s.join(60)
        return
    code, took = post(b, "b", 5, timeout=30)
    t.eq(code, 202, "replica b accepts while a is frozen")
    t.ok(took < 2 * LEASE_S + 2, "within about a lease (%.1f s)" % took)
    t.ok(not lock_held_idle(b, key),
         "the server ended the frozen replica's transaction (the lock is free)")
    a.signal(signal.SIGCONT)
    time.sleep(1.0)
    stop.set()
    for s in senders:
        s.join(90)
    t.ok(wait_until(lambda: post(a, "a", 6)[0] == 202, 15, 0.3),
         "thawed, replica a reconnects by itself and accepts again")
    t.ok(a.wait_log(r"terminat|connection|reconnect", 1) is not None,
         "replica a says its connection was lost", "\n".join(a.lines()[-20:]))
    ids = set(r[0] for r in b.sql("SELECT id FROM events"))
    missing = [i for i in accepted if i not in ids]
    t.ok(not missing, "every event answered 202 is in the ledger (%d, %d missing)"
         % (len(accepted), len(missing)), missing[:5])
    for d in (a, b):
        d.stop()
    t.ok(server.password not in "\n".join(a.lines() + b.lines()),
         "the PostgreSQL password is in no log line")


if __name__ == "__main__":
    harness.run(main)
