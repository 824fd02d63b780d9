#!/usr/bin/env python3
"""PostgreSQL restarted under load (issue 15): while the database is down /readyz is not
ready and the sources answer 503 (senders retry; nothing is half-accepted), /healthz stays
up, and when it is back the replica reconnects by itself: /readyz is ready again, the
events sent meanwhile are accepted, every event answered 202 before, during or after the
outage is in the ledger, and the deliveries resume. Needs PostgreSQL's binaries (Debian's
postgresql package): skipped without them."""

import os
import threading
import time

import harness
from harness import Daemon, base_confd, recorder, sample_json, test_sink_path, wait_until

DEGRADED = "seed-aks-store-degraded.client_payload.json"


def event(app, n):
    p = sample_json("argocd", DEGRADED)
    p["app_name"] = app
    p["revision"] = "%040x" % n
    return p


def main(t):
    if not harness.pg_available():
        t.skip("PostgreSQL outage", "PostgreSQL's binaries are not installed "
               "(apt-get install postgresql)")
        return
    rec = os.path.join(os.environ.get("TMPDIR", "/tmp"), "rec-outage-%d.jsonl" % os.getpid())
    t.cleanups.append(lambda: os.path.exists(rec) and os.unlink(rec))
    server = harness.pg_server()
    d = Daemon(t, base_confd("  s: { plugin: %s, record: %s }\n" % (test_sink_path(), rec),
                             "  - name: default\n    sinks: [s]\n"),
               db=harness.pg_new_database(),
               env={"INCIDENTD_REPLICA_ID": "evil\x1b[31m id"})
    # a replica name it cannot use: said, replaced, and never printed as given
    t.ok(d.wait_log(r"INCIDENTD_REPLICA_ID must be 1 to 63 of .*: using \S+/\d+/\w+", 1),
         "a hostile INCIDENTD_REPLICA_ID is refused with a warning and replaced")
    t.ok(not any("\x1b" in line for line in d.lines()), "and never reaches the log as given")

    st, _, _ = d.post("/v1/events/argocd", event("before", 1))
    t.eq(st, 202, "before the outage: 202")
    t.eq(d.get("/readyz")[0], 200, "before the outage: ready")

    # --- load across the outage -----------------------------------------------------------
    answers = {}
    accepted = []
    stop = threading.Event()

    def sender():
        n = 100
        while not stop.is_set():
            n += 1
            try:
                code, _, ans = d.post("/v1/events/argocd", event("load-%d" % (n % 5), n),
                                      timeout=20)
            except OSError as e:
                code, ans = type(e).__name__, None
            answers[code] = answers.get(code, 0) + 1
            if code == 202:
                accepted.extend(ans["events"])
            time.sleep(0.02)

    th = threading.Thread(target=sender)
    th.start()
    time.sleep(1.0)
    server.stop()
    t.ok(wait_until(lambda: d.get("/readyz")[0] == 503, 10, 0.2),
         "database down: /readyz answers 503")
    t.eq(d.get("/healthz")[0], 200, "database down: /healthz still answers 200")
    st, _, ans = d.post("/v1/events/argocd", event("during", 2))
    t.eq(st, 503, "database down: a source answers 503")
    time.sleep(2.0)
    server.restart()
    t.ok(wait_until(lambda: d.get("/readyz")[0] == 200, 15, 0.2),
         "database back: /readyz is ready again")
    time.sleep(1.0)
    stop.set()
    th.join()
    st, _, ans = d.post("/v1/events/argocd", event("during", 2))
    t.eq(st, 202, "database back: the event refused during the outage is accepted")
    t.ok(set(answers) <= {202, 503} and answers.get(503, 0) > 0 and answers.get(202, 0) > 0,
         "under load: every answer was 202 or 503 (%s)" % answers)

    ids = set(r[0] for r in d.sql("SELECT id FROM events"))
    lost = [e for e in accepted if e not in ids]
    t.ok(accepted and not lost, "every event answered 202 is in the ledger (%d)"
         % len(accepted), lost[:5])
    t.ok(wait_until(lambda: any(r.get("app") == "during" or "during" in str(r)
                                for r in recorder(rec)), 20, 0.2),
         "deliveries resume after the outage")
    t.ok(d.wait_log("reconnected to PostgreSQL", 1), "the log says it reconnected")
    d.stop()


harness.run(main)
