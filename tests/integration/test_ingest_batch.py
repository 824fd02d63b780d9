#!/usr/bin/env python3
"""A request that fails while its pass is written to the ledger fails alone: the requests
committed with it in the same grouped commit are written again (one savepoint each) and
accepted, nothing of the bad one stays in the ledger, and the daemon keeps serving.

The failure is a trigger put into the ledger before the daemon starts: inserting an event
of the app "poison" raises an error, as a full disk or a constraint would mid-pass."""

import json
import sqlite3
import threading

import harness
from harness import Daemon

CONF = {"10-test.yaml": "sources:\n  argocd: { auth: none }\n"
        "sinks:\n  log: { plugin: log }\n"
        "routes:\n  - name: default\n    sinks: [log]\n"}


def body(app, i):
    b = harness.sample_json("argocd", "seed-aks-store-degraded.client_payload.json")
    b["app_name"] = app
    b["revision"] = "%040x" % i
    return json.dumps(b).encode()


def main(t):
    d = Daemon(t, CONF)
    d.stop()
    if d.pg:
        # the same poison on PostgreSQL, where a failed statement aborts the whole
        # transaction: the pass must be written again request by request
        d.sql("CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
              "IF NEW.app = 'poison' THEN RAISE EXCEPTION 'poisoned'; END IF; "
              "RETURN NEW; END $$")
        d.sql("CREATE TRIGGER poison BEFORE INSERT ON events FOR EACH ROW "
              "EXECUTE FUNCTION poison()")
    else:
        con = sqlite3.connect(d.db)
        con.execute("CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.app = 'poison' "
                    "BEGIN SELECT RAISE(ABORT, 'poisoned'); END")
        con.commit()
        con.close()
    d.start()
    hdr = {"Content-Type": "application/json"}
    results = {}
    go = threading.Barrier(41)

    def send(app, i):
        go.wait()
        results[(app, i)] = d.post("/v1/events/argocd", body(app, i), hdr, timeout=30)

    for round_ in range(3):
        threads = [threading.Thread(target=send, args=("good-%d" % i, round_ * 100 + i))
                   for i in range(40)]
        threads.append(threading.Thread(target=send, args=("poison", round_)))
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    bad = [results[("poison", r)][0] for r in range(3)]
    t.ok(bad == [503, 503, 503], "the poisoned request: 503 each time", bad)
    good = [v[0] for k, v in results.items() if k[0] != "poison"]
    t.ok(len(good) == 120 and set(good) == {202}, "the 120 others: 202",
         sorted(set(good)))
    t.eq(d.scalar("SELECT count(*) FROM events WHERE app LIKE 'good-%'"), 120,
         "the 120 others are in the ledger")
    # the deliveries of those passes (most handed to the dispatcher in memory, the rest
    # from the outbox) all end done: none is left running
    outcomes = "SELECT state, count(*) FROM deliveries GROUP BY state ORDER BY state"
    harness.wait_until(lambda: d.scalar("SELECT count(*) FROM deliveries WHERE state = "
                                        "'done'") >= 120, 15)
    t.eq(d.sql(outcomes), [("done", 120)],
         "the deliveries of the 120 are all done: none left running")
    t.eq(d.scalar("SELECT count(*) FROM incidents WHERE app = 'poison'"), 0,
         "nothing of the poisoned request stays (its incident was rolled back)")
    t.eq(d.scalar("SELECT count(*) FROM requests r WHERE NOT EXISTS (SELECT 1 FROM events e"
                  " WHERE e.request_id = r.id)"), 0, "no request row without its events")
    t.ok(d.count_log(r"a request of this pass \(\d+\) failed: writing them again") >= 1,
         "the pass that held it was written again one request at a time",
         "\n".join(d.lines()[-20:]))
    t.ok(d.count_log(r"cannot write argocd request") >= 3, "each failure is logged")
    st = d.post("/v1/events/argocd", body("after", 999), hdr)[0]
    t.eq(st, 202, "the daemon keeps serving")

    # sustained load: requests wait for a pass nearly all the time, and the dispatcher's
    # bookkeeping (its own transactions between the passes) must still get done while it
    # lasts, not only once the load stops
    stop = threading.Event()
    sent = []

    def keep_sending(k):
        i = 0
        while not stop.is_set():
            i += 1
            sent.append(d.post("/v1/events/argocd", body("load-%d" % k, 10000 * k + i),
                               hdr, timeout=30)[0])

    senders = [threading.Thread(target=keep_sending, args=(k,)) for k in range(8)]
    for th in senders:
        th.start()
    try:
        during = harness.wait_until(lambda: d.scalar(
            "SELECT count(*) FROM deliveries d JOIN events e ON e.id = d.event_id"
            " WHERE e.app LIKE 'load-%' AND d.state = 'done'") >= 8, 20)
        still = not stop.is_set() and all(th.is_alive() for th in senders)
    finally:
        stop.set()
        for th in senders:
            th.join()
    t.ok(during and still, "under sustained load, deliveries are done while it lasts "
         "(%d requests sent)" % len(sent))
    t.ok(len(sent) > 0 and set(sent) == {202}, "the load's requests: 202", sorted(set(sent)))
    d.stop()


if __name__ == "__main__":
    harness.run(main)
